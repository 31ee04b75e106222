"""The metrics scraped from a live gunicorn with two workers, as ``make run``
serves them (gunicorn.conf.py, prometheus-client's multiprocess mode).

Requests land on both workers, answered by the thin path (reservations, grabs
won and sold out, a draw's repeat) and by Django (health checks, a first draw);
one scrape, answered by either worker, must add up every worker's counts.
"""

import concurrent.futures
import datetime as dt
import http.client
import os
import time
import urllib.parse
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.namespace import key_namespace, key_namespace_forget
from couponsite.testing.live_server import (
    free_port,
    gunicorn_start,
    gunicorn_stop,
    gunicorn_wait,
)
from customers.services import token_create
from draws.rush.services import rush_warm
from draws.rush.tests.rush_support import customers, rush_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PEOPLE = 10  # the rush gives one coupon per five reservations: 2 won, 8 sold out
HEALTH_CHECKS = 60
ANSWERS = "couponsite_http_request_duration_seconds_count"


@pytest.fixture
def server(tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("the thin path needs Redis")
    if settings.REDIS_CLUSTER:
        pytest.skip("the thin path steps aside on Redis Cluster")
    db = connection.settings_dict
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}"
            f"@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "WEB_CONCURRENCY": "2",
        "RATE_LIMIT_RESERVE_IP": "off",
        "RATE_LIMIT_GRAB_IP": "off",
        "RATE_LIMIT_DRAW_IP": "off",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_LEVEL": "WARNING",
        "BIND": f"127.0.0.1:{free_port()}",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("ab") as output:
        process = gunicorn_start({**os.environ, **env}, output=output)
    base = f"http://{env['BIND']}"
    try:
        problem = gunicorn_wait(process, base, timeout=30)
        assert problem is None, f"{problem}: {log.read_text()[-3000:]}"
        yield base, metrics_dir, log
    finally:
        gunicorn_stop(process, timeout=25)


def _send(base: str, method: str, path: str, token: str | None = None):
    """One request on a connection of its own (the workers take turns accepting)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _all(base: str, method: str, path: str, tokens: list) -> Counter:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = pool.map(lambda token: _send(base, method, path, token), tokens)
        return Counter(status for status, _ in answers)


def _open_now(campaign: Campaign, *, rush: bool) -> None:
    local = campaign.local_now(timezone.now()).replace(microsecond=0)
    minutes = dt.timedelta(minutes=1)
    if rush:
        opens = [local - 30 * minutes, local - 20 * minutes, local - minutes / 12]
        opens.append(local + 10 * minutes)
    else:
        opens = [local - minutes / 12, local + 10 * minutes]
        opens += [local + 11 * minutes, local + 12 * minutes]
    (
        campaign.reservation_opens,
        campaign.reservation_closes,
        campaign.rush_opens,
        campaign.rush_closes,
    ) = (moment.time() for moment in opens)
    campaign.save()


def _scraped(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape(base: str) -> dict[tuple, float]:
    """A scrape once the counts have settled: a worker counts an answer just
    after its last byte left, so a client may be quicker than the count. Two
    scrapes in a row that agree (but for the scrapes themselves) settle it."""
    last = None
    for _ in range(50):
        status, body = _send(base, "GET", "/metrics")
        assert status == 200
        samples = _scraped(body.decode())
        settled = {
            key: value
            for key, value in samples.items()
            if ("route", "metrics") not in key[1]
        }
        if settled == last:
            return samples
        last = settled
    raise AssertionError("the counts kept changing")


def _since(before: dict, after: dict) -> dict[tuple, float]:
    """What was counted between two scrapes (gunicorn's start-up health checks
    and the first scrape are before)."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def _answers(samples: dict, route: str, method: str, status: int) -> float:
    labels = (("method", method), ("route", route), ("status", str(status)))
    return samples.get((ANSWERS, labels), 0.0)


def test_a_scrape_adds_up_both_workers_thin_and_django_answers(server):
    base, metrics_dir, log = server
    before = _scrape(base)
    healthz_before = _by_worker(metrics_dir)
    key_namespace_forget()  # read the namespace the workers will read
    key_namespace()
    now = timezone.now()
    rush = rush_campaign(
        slug="metered",
        timezone="UTC",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
    )
    _open_now(rush, rush=False)
    lucky = CampaignFactory(slug="metered-draw", timezone="UTC")
    CouponTypeFactory(campaign=lucky, probability=1)
    tokens = [token_create(customer=person).key for person in customers(PEOPLE)]
    time.sleep(2.5)  # the workers drop any campaign row they held (2 s)

    # when customers reserve, then grab once the rush is on
    reserved = _all(base, "POST", "/api/v1/campaigns/metered/reservations", tokens)
    _open_now(rush, rush=True)
    rush_warm(campaign=Campaign.objects.get(pk=rush.pk), replace=True)
    time.sleep(2.5)
    grabbed = _all(base, "POST", "/api/v1/campaigns/metered/grabs", tokens)
    # and grab again (both workers hold the campaign now: the thin path answers)
    regrabbed = _all(base, "POST", "/api/v1/campaigns/metered/grabs", tokens)
    # and one of them draws, then again, and the load balancer checks health
    drew = _all(base, "POST", "/api/v1/campaigns/metered-draw/draws", tokens[:1])
    drew += _all(base, "POST", "/api/v1/campaigns/metered-draw/draws", tokens[:1] * 5)
    checked = _all(base, "GET", "/healthz", [None] * HEALTH_CHECKS)
    # (and a grab without a token: Django's, and logged as each 4xx it answers)
    unsigned = _send(base, "POST", "/api/v1/campaigns/metered/grabs")[0]
    samples = _since(before, _scrape(base))

    # then every answer is there, by route pattern and status, from both workers
    assert reserved == {201: PEOPLE}
    assert grabbed == {201: 2, 409: PEOPLE - 2}
    assert regrabbed == {409: PEOPLE}  # SOLD_OUT, and ALREADY_RECEIVED for the two
    assert drew == {201: 1, 429: 5}
    assert unsigned == 401
    # (Django logs each 4xx it answers, the thin path none: some were the thin path's.)
    logged = log.read_text()
    assert "Unauthorized: /api/v1/campaigns/metered/grabs" in logged
    assert logged.count("Conflict: /api/v1/campaigns/metered/grabs") < 2 * PEOPLE - 2
    assert checked == {200: HEALTH_CHECKS}
    campaigns = "api/v1/campaigns/<slug:slug>"
    assert _answers(samples, "healthz", "GET", 200) == HEALTH_CHECKS
    assert _answers(samples, f"{campaigns}/reservations", "POST", 201) == PEOPLE
    assert _answers(samples, f"{campaigns}/grabs", "POST", 201) == 2
    assert _answers(samples, f"{campaigns}/grabs", "POST", 409) == 2 * PEOPLE - 2
    assert _answers(samples, f"{campaigns}/draws", "POST", 201) == 1
    assert _answers(samples, f"{campaigns}/draws", "POST", 429) == 5
    # and the domain's counts: committed grabs and reservations, sold-out answers
    assert samples[("couponsite_reservations_total", ())] == PEOPLE
    assert samples[("couponsite_grabs_total", (("outcome", "won"),))] == 2
    sold_out = 2 * (PEOPLE - 2)
    assert samples[("couponsite_grabs_total", (("outcome", "sold_out"),))] == sold_out
    draws = sum(
        value
        for (name, _), value in samples.items()
        if name == "couponsite_draws_total"
    )
    assert draws == 1
    refusals = "couponsite_refusals_total"
    assert samples[(refusals, (("code", "SOLD_OUT"),))] == sold_out
    assert samples[(refusals, (("code", "ALREADY_RECEIVED"),))] == 2
    assert samples[(refusals, (("code", "ALREADY_DRAWN_TODAY"),))] == 5
    # and the health checks were answered by both workers, each in its own file
    by_worker = {
        worker: count - healthz_before.get(worker, 0)
        for worker, count in _by_worker(metrics_dir).items()
    }
    assert len([count for count in by_worker.values() if count]) == 2, by_worker
    assert sum(by_worker.values()) == HEALTH_CHECKS


def _by_worker(metrics_dir) -> dict[str, float]:
    """Health checks answered, by the file (the process) that counted them."""
    counts = {}
    for path in metrics_dir.glob("histogram_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            counts[path.name] = sum(
                sample.value
                for sample in family.samples
                if sample.name == ANSWERS and sample.labels.get("route") == "healthz"
            )
    return counts
