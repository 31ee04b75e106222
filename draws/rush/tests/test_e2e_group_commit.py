"""End to end: the rush through gunicorn as ``make run`` starts it, on the thin
path with group commit, and a worker killed with SIGKILL in the middle.

Every answer a client received as ``201`` must be in Postgres afterwards,
with the very number or coupon it was told; nothing is given twice. Requests
the dead worker held are unanswered (the client sees the connection drop):
that is allowed, an acknowledged request lost is not.
"""

import concurrent.futures
import datetime as dt
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.namespace import key_namespace, key_namespace_forget
from couponsite.testing.live_server import gunicorn
from customers.services import token_create
from draws.models import Grab, Reservation, RushDay
from draws.rush.services import rush_warm
from draws.rush.tests.rush_support import customers, rush_campaign
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 400


def _workers(master: int) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(master)], capture_output=True, text=True, check=False
    ).stdout
    return [int(pid) for pid in out.split()]


def _post_all(base: str, path: str, tokens: list[str], *, kill_after: int, master):
    """POST ``path`` once per token from 24 keep-alive clients; SIGKILL one worker
    once ``kill_after`` answers came. {token index: (status, body)} of the answered."""
    url = urllib.parse.urlsplit(base)
    answers: dict[int, tuple[int, dict]] = {}
    lock = threading.Lock()
    killed = threading.Event()
    local = threading.local()

    def one(index: int) -> None:
        for attempt in range(2):
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(
                    url.hostname, url.port, timeout=20
                )
            try:
                conn.request(
                    "POST", path, headers={"Authorization": f"Bearer {tokens[index]}"}
                )
                response = conn.getresponse()
                body = json.loads(response.read() or b"{}")
            except (OSError, http.client.HTTPException):
                conn.close()
                local.conn = None
                if attempt == 0 and not killed.is_set():
                    continue  # an idle keep-alive connection closed: not this request
                return  # unanswered: the worker died under it
            with lock:
                answers[index] = (response.status, body)
                if len(answers) >= kill_after and not killed.is_set():
                    killed.set()
                    os.kill(_workers(master.pid)[0], signal.SIGKILL)
            return

    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        list(pool.map(one, range(len(tokens))))
    assert killed.is_set()
    return answers


@pytest.fixture
def server():
    if not settings.REDIS_URL:
        pytest.skip("the thin path needs Redis")
    db = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}"
            f"@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_CLUSTER": "1" if settings.REDIS_CLUSTER else "0",
        "WEB_CONCURRENCY": "2",
        "RATE_LIMIT_RESERVE_IP": "off",
        "RATE_LIMIT_GRAB_IP": "off",
    }
    with gunicorn(env, start_within=30) as (base, process):
        yield base, process


def _open_now(campaign: Campaign, *, rush: bool) -> None:
    """Move the campaign's windows so reservations (or the rush) are open now."""
    local = campaign.local_now(timezone.now())
    if rush:
        campaign.reservation_opens = (local - dt.timedelta(minutes=30)).time()
        campaign.reservation_closes = (local - dt.timedelta(minutes=20)).time()
        campaign.rush_opens = (local - dt.timedelta(seconds=5)).time()
        campaign.rush_closes = (local + dt.timedelta(minutes=10)).time()
    else:
        campaign.reservation_opens = (local - dt.timedelta(seconds=5)).time()
        campaign.reservation_closes = (local + dt.timedelta(minutes=10)).time()
        campaign.rush_opens = (local + dt.timedelta(minutes=11)).time()
        campaign.rush_closes = (local + dt.timedelta(minutes=12)).time()
    for field in (
        "reservation_opens",
        "reservation_closes",
        "rush_opens",
        "rush_closes",
    ):
        setattr(campaign, field, getattr(campaign, field).replace(microsecond=0))
    campaign.save()


def test_a_worker_killed_mid_batch_loses_no_acknowledged_reservation_or_grab(server):
    base, master = server
    # Earlier transactional tests flushed the namespace row this process read:
    # read the one the workers will read, or their keys and ours differ.
    key_namespace_forget()
    key_namespace()
    now = timezone.now()
    campaign = rush_campaign(
        slug="killed",
        timezone="UTC",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
    )
    _open_now(campaign, rush=False)
    people = customers(CUSTOMERS)
    tokens = [token_create(customer=person).key for person in people]
    by_token = {index: person.pk for index, person in enumerate(people)}
    time.sleep(2.5)  # the workers drop the campaign row they held (2 s)

    reserve_path = "/api/v1/campaigns/killed/reservations"
    answers = _post_all(base, reserve_path, tokens, kill_after=80, master=master)
    told = {
        by_token[index]: body["number"]
        for index, (status, body) in answers.items()
        if status == 201
    }
    assert len(told) >= 80
    stored = dict(
        Reservation.objects.filter(campaign=campaign).values_list(
            "customer_id", "number"
        )
    )
    assert {customer: stored.get(customer) for customer in told} == told
    numbers = sorted(stored.values())
    assert numbers == list(range(1, len(numbers) + 1))  # gapless, none twice
    day = RushDay.objects.get(campaign=campaign)
    assert day.reservations == len(numbers)
    assert Voucher.objects.filter(release_id=day.release_id).count() == day.coupons
    # The thin path with group commit answered them (its connection is named).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'couponsite group commit'"
        )
        assert cursor.fetchone()[0] >= 1

    _open_now(campaign, rush=True)
    rush_warm(campaign=Campaign.objects.get(pk=campaign.pk), replace=True)
    time.sleep(2.5)
    reserved = [index for index in by_token if by_token[index] in stored]
    grab_path = "/api/v1/campaigns/killed/grabs"
    grab_tokens = [tokens[index] for index in reserved]
    answers = _post_all(
        base, grab_path, grab_tokens, kill_after=len(grab_tokens) // 4, master=master
    )
    won = {
        by_token[reserved[index]]: body["voucher"]["code"].replace("-", "")
        for index, (status, body) in answers.items()
        if status == 201
    }
    assert won
    grabs = {
        grab.customer_id: grab.voucher.code
        for grab in Grab.objects.filter(campaign=campaign).select_related("voucher")
    }
    assert {customer: grabs.get(customer) for customer in won} == won
    assert len(set(grabs.values())) == len(grabs) <= day.coupons
    for customer, code in won.items():
        voucher = Voucher.objects.get(code=code)
        assert (voucher.owner_id, voucher.status) == (customer, Voucher.Status.ISSUED)
