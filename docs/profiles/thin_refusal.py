"""CPU of one thin refusal in-process: a grab the rush's thin route refuses
(NOT_RESERVATION), N times in one event loop, against the real Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponsite_bench \
    REDIS_URL=redis://127.0.0.1:6379/14 \
    .venv/bin/python docs/profiles/thin_refusal.py 5000 [profile]

Any migrated database will do (only its Redis key namespace is read); the
campaign is an unsaved row put in the process's cache; "profile" adds cProfile.
No HTTP: the figure is the route's own cost, uvicorn's comes on top.
"""

import asyncio
import cProfile
import datetime as dt
import hashlib
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from campaigns.caching import campaign_cache_key  # noqa: E402
from campaigns.models import Campaign  # noqa: E402
from campaigns.schedule import RushWindows  # noqa: E402
from couponsite.localcache import local_cached  # noqa: E402
from couponsite.namespace import key_namespace  # noqa: E402
from couponsite.redis_client import get_redis  # noqa: E402
from couponsite.server import Router, thin  # noqa: E402
from couponsite.server.routes import ROUTES  # noqa: E402
from draws.rush.services.redis_state import RushKeys  # noqa: E402

RAW_TOKEN = "thin-refusal-token"


def _scene() -> None:
    """A running rush, its day loaded in Redis, one customer who did not reserve."""
    now = timezone.now()
    local = now.astimezone(dt.UTC)
    campaign = Campaign(
        pk=999_999,
        slug="thin-refusal",
        kind=Campaign.Kind.RUSH,
        status=Campaign.Status.ACTIVE,
        timezone="UTC",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
        reservation_opens=(local - dt.timedelta(minutes=30)).time(),
        reservation_closes=(local - dt.timedelta(minutes=20)).time(),
        rush_opens=(local - dt.timedelta(minutes=10)).time(),
        rush_closes=(local + dt.timedelta(minutes=30)).time(),
    )
    settings.LOCAL_CACHE_SECONDS = 10**6
    key_namespace()
    local_cached(campaign_cache_key(campaign.slug), lambda: campaign)
    cycle = RushWindows.of(campaign).cycle_at(campaign.tz, now)
    redis = get_redis()
    keys = RushKeys(campaign.pk, cycle.day)
    redis.set(keys.ready, 1, ex=600)
    redis.hset(keys.reserved, "1", "1")
    redis.expire(keys.reserved, 600)
    digest = hashlib.sha256(RAW_TOKEN.encode()).hexdigest()
    expires = int((now.timestamp() + 3600) * 1000)
    redis.set(thin.token_entry_key(digest), f"42:{expires}", ex=600)
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "grab_customer": "off",
        "grab_ip": "off",
    }


async def _django(scope, receive, send):
    raise SystemExit("the thin route passed the request to Django")


async def main(count: int, profile: bool) -> None:
    app = Router(_django, ROUTES)
    scope = {
        "type": "http",
        "method": "POST",
        "http_version": "1.1",
        "scheme": "http",
        "path": "/api/v1/campaigns/thin-refusal/grabs",
        "raw_path": b"/api/v1/campaigns/thin-refusal/grabs",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {RAW_TOKEN}".encode()),
            (b"accept", b"*/*"),
        ],
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    for _ in range(200):  # warm: connection, script cache
        await app(dict(scope), receive, send)
    print(sent[1]["body"].decode())
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        await app(dict(scope), receive, send)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{cpu / count * 1e3:.3f} ms CPU, {wall / count * 1e3:.3f} ms wall per refusal"
    )
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            await app(dict(scope), receive, send)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    _scene()
    asyncio.run(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, "profile" in sys.argv)
    )
