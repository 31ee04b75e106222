"""The rush's thin path on a Redis Cluster (``scripts/test-redis-cluster``).

The gate runs in steps there (``couponsite.server.thin.Gate.run_on_cluster``):
the token entry, the rate limits slot by slot ("hit", then "undo" when a
slot refuses), the route's body on its own slot, and "undo" again when the
body passes the request to Django. ``ClusterLoopRedis`` routes each step to
its master; a ``MOVED`` makes the thin path step aside until the map is read
again.
"""

import asyncio

import pytest
import time_machine
from django.conf import settings

from campaigns.selectors import campaign_by_slug
from couponsite.redis_client import get_redis, redis_key
from couponsite.redis_cluster import key_slot
from couponsite.server import Router, thin
from couponsite.server.loop_cluster import ClusterLoopRedis
from couponsite.server.routes import ROUTES, shutdown
from couponsite.testing.thin import (
    DjangoStandIn,
    post_scope,
    rate_limit_hits,
    served_race,
    thin_answer,
)
from customers.services import token_create
from draws.models import Grab
from draws.rush.services import rush_local_state_clear
from draws.rush.services.redis_state import RushKeys
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    client_for,
    customers,
    rush_campaign,
)
from draws.rush.tests.test_thin_path import GRABS, RESERVATIONS, _at_rush, local_clear

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _cluster(thin_path):
    if not settings.REDIS_CLUSTER:
        pytest.skip("needs REDIS_CLUSTER=1 (scripts/test-redis-cluster)")
    rush_local_state_clear()
    yield
    rush_local_state_clear()


@pytest.fixture
def rush():
    """Three reserved (one coupon at the default ratio), one who did not reserve."""
    campaign = rush_campaign(slug="tonight")
    people = customers(4)
    with time_machine.travel(RESERVING, tick=False):
        for person in people[:3]:
            assert client_for(person).post(RESERVATIONS).status_code == 201
    return campaign, people


def _token(customer) -> str:
    return token_create(customer=customer).key


def test_a_reservation_and_a_grab_are_answered_on_the_thin_path(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_ip": "50/minute"}
    campaign = rush_campaign(slug="tonight")
    winner, loser, *others = customers(5)  # five reserved: one coupon
    with time_machine.travel(RESERVING, tick=False):
        for person in (loser, *others):
            assert client_for(person).post(RESERVATIONS).status_code == 201
        local_clear()
        assert campaign_by_slug("tonight") is not None  # the process holds it
        passed, status, _, body = thin_answer(RESERVATIONS, _token(winner))
        assert body
        assert (passed, status) == (False, 201)  # Django never saw it
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        passed, status, _, _ = thin_answer(GRABS, _token(winner))
        assert (passed, status) == (False, 201)
        passed, status, _, body = thin_answer(GRABS, _token(loser))
        assert (passed, status) == (False, 409) and b"SOLD_OUT" in body
    assert list(Grab.objects.values_list("customer", flat=True)) == [winner.pk]
    # Each settled answer counted once, on both limits (two slots).
    assert rate_limit_hits("grab_customer", f"customer:{winner.pk}") == 1
    assert rate_limit_hits("grab_ip", "127.0.0.1") == 2


def test_limits_in_two_slots_hold_and_a_refused_hit_counts_on_neither(rush, settings):
    campaign, people = rush
    stranger = people[3]
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "grab_ip": "3/minute",
        "grab_customer": "1/minute",
    }
    ip_key = redis_key("rl", "grab_ip", "127.0.0.1")
    customer_key = redis_key("rl", "grab_customer", f"customer:{stranger.pk}")
    assert key_slot(ip_key) != key_slot(customer_key)  # the steps' case
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(stranger)
        passed, status, _, _ = thin_answer(GRABS, token)
        assert (passed, status) == (False, 403)  # NOT_RESERVATION, counted
        # The address's slot counts, the customer's refuses: the address's hit
        # is taken back.
        passed, status, headers, body = thin_answer(GRABS, token)
        assert (passed, status) == (False, 429) and b"RATE_LIMITED" in body
        assert int(headers["retry-after"]) >= 1
        assert rate_limit_hits("grab_ip", "127.0.0.1") == 1
        assert rate_limit_hits("grab_customer", f"customer:{stranger.pk}") == 1
        # Two more on the address (other customers), then the address refuses.
        for person in people[:2]:
            passed, status, _, _ = thin_answer(GRABS, _token(person))
            assert not passed and status in (201, 409)
        passed, status, _, _ = thin_answer(GRABS, _token(people[2]))
        assert (passed, status) == (False, 429)
        assert rate_limit_hits("grab_ip", "127.0.0.1") == 3
        assert rate_limit_hits("grab_customer", f"customer:{people[2].pk}") == 0


def test_a_body_that_passes_leaves_the_limits_uncounted(rush, settings):
    campaign, people = rush
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_ip": "50/minute"}
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        # The day's state is not in Redis (COLD): the body passes to Django.
        get_redis().delete(RushKeys(campaign.pk, DAY).ready)
        django = DjangoStandIn()
        passed, *_ = thin_answer(GRABS, _token(people[0]), django=django)
        assert passed and django.reached == 1
        assert rate_limit_hits("grab_customer", f"customer:{people[0].pk}") == 0
        assert rate_limit_hits("grab_ip", "127.0.0.1") == 0


def _shifted(table: list) -> list:
    """Every slot pointed at the next master: a map gone stale."""
    masters = sorted(set(table))
    return [masters[(masters.index(a) + 1) % len(masters)] for a in table]


def test_a_moved_slot_makes_the_thin_path_step_aside_then_recover(rush, settings):
    campaign, people = rush
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_ip": "off"}
    stranger = people[3]
    token = _token(stranger)

    async def post(django: DjangoStandIn) -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await Router(django, ROUTES)(post_scope(GRABS, token), receive, send)
        return sent[0]["status"]

    async def run():
        try:
            client = thin.loop_redis()
            assert isinstance(client, ClusterLoopRedis)
            await client.get("warm-up")  # reads the slot map
            client.table = _shifted(client.table)
            stale = DjangoStandIn()
            await post(stale)
            assert stale.reached == 1  # MOVED: Django answers
            assert thin.loop_redis() is None  # stepping aside for a while
            thin._redis_skipped_until = 0.0  # the back-off is over
            while client.table is None or client.refreshing is not None:
                await asyncio.sleep(0.01)  # the map is read again meanwhile
            fresh = DjangoStandIn()
            status = await post(fresh)
            assert (fresh.reached, status) == (0, 403)  # the thin path again
        finally:
            await shutdown()

    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        asyncio.run(run())
    # The refused answer counted once; the MOVED one nothing here.
    assert rate_limit_hits("grab_customer", f"customer:{stranger.pk}") == 1


def test_racing_requests_of_one_customer_never_pass_its_limit(rush, settings):
    """Twenty at once, interleaved over the steps: never more than the limit
    answered, the rest 429 (the steps may be stricter for a moment, never looser)."""
    campaign, people = rush
    stranger = people[3]
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "grab_ip": "100/minute",
        "grab_customer": "3/minute",
    }
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(stranger)
        answers, _ = served_race(GRABS, [(token, None, [])] * 20)
    statuses = sorted(status for status, _ in answers)
    refused = statuses.count(403)  # NOT_RESERVATION: each a counted hit
    assert 1 <= refused <= 3 and statuses.count(429) == 20 - refused
    assert rate_limit_hits("grab_customer", f"customer:{stranger.pk}") == refused
    assert rate_limit_hits("grab_ip", "127.0.0.1") == refused


def test_claims_and_redemptions_step_aside_on_a_cluster(rush):
    """Their bodies read two slots in one decision: Django answers them."""
    from draws.claim.thin import CLAIM_GATE
    from vouchers.thin import REDEEM_GATE

    token = _token(rush[1][0])

    async def main():
        sent = []

        async def send(message):
            sent.append(message)

        try:
            redis = thin.loop_redis()
            request = thin.ThinRequest.of(post_scope(GRABS, token))
            decided = [
                await gate.decide(send, redis, request=request, scope_name=name)
                for gate, name in ((CLAIM_GATE, "claim"), (REDEEM_GATE, "redeem"))
            ]
            return decided, sent
        finally:
            await shutdown()

    assert asyncio.run(main()) == ([False, False], [])
    assert rate_limit_hits("claim_customer", f"customer:{rush[1][0].pk}") == 0
