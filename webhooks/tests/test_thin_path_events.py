"""The thin path loses no event: while an endpoint subscribes to what a thin
route would cause (or the process does not know yet), the route leaves the
request to Django, which emits in the effect's transaction. With nobody
subscribed the thin path takes its requests as before."""

import datetime as dt
import json
from collections import Counter

import pytest
import time_machine

from campaigns.models import Campaign
from campaigns.selectors import campaign_by_slug, campaign_odds
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.localcache import MISSING, local_clear, local_forget, local_peek
from couponsite.testing.tasks import run_queued_tasks, wait_for
from couponsite.testing.thin import served_race, thin_answer
from customers.services import token_create
from draws.draw.fairness import day_seed
from draws.rush.services import rush_local_state_clear, rush_warm
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    client_for,
    customers,
    rush_campaign,
)
from draws.tests.thin_support import signed_in
from vouchers.models import Voucher
from vouchers.tests.factories import VoucherFactory
from webhooks.events import EventType
from webhooks.models import Event
from webhooks.subscriptions import SUBSCRIPTIONS_KEY, subscribed_types
from webhooks.tests.support import endpoint_for, received_events

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thin_path"),
]

REDEEM = "/api/v1/vouchers/redeem"


def _redemptions(count: int):
    people = [signed_in() for _ in range(count)]
    vouchers = [VoucherFactory(owner=client.customer) for _, client in people]
    requests = [
        (token, json.dumps({"code": voucher.code}).encode(), [])
        for (token, _), voucher in zip(people, vouchers, strict=True)
    ]
    return vouchers, requests


def test_redemptions_go_to_django_while_voucher_redeemed_is_subscribed(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_REDEEMED)
    subscribed_types(reload=True)  # held, fresh: the route knows it is subscribed
    vouchers, requests = _redemptions(4)

    answers, stats = served_race(REDEEM, requests)

    assert [status for status, _ in answers] == [200] * 4
    assert stats["committed_items"] == 0  # none on the thin path
    run_queued_tasks()
    events = received_events(served, endpoint)
    assert sorted(e["data"]["voucher"]["code"] for e in events) == sorted(
        v.code for v in vouchers
    )
    assert {e["type"] for e in events} == {"voucher.redeemed"}


@pytest.mark.usefixtures("thin_single_node")
def test_with_nobody_subscribed_the_thin_path_redeems_and_emits_nothing(served):
    endpoint_for(served, EventType.DRAW_WON)  # another type only
    subscribed_types(reload=True)
    _, requests = _redemptions(4)

    answers, stats = served_race(REDEEM, requests)

    assert [status for status, _ in answers] == [200] * 4
    assert stats["committed_items"] == 4  # all on the thin path
    assert Voucher.objects.filter(status=Voucher.Status.REDEEMED).count() == 4
    assert not Event.objects.exists()


def test_a_process_that_does_not_know_the_subscriptions_leaves_it_to_django(served):
    token, client = signed_in()
    voucher = VoucherFactory(owner=client.customer)
    local_forget(SUBSCRIPTIONS_KEY)

    passed, *_ = thin_answer(
        REDEEM, token, json_body=json.dumps({"code": voucher.code}).encode()
    )

    assert passed
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED  # the thin path did nothing
    # the thin path's refresh thread reads them for the next request
    wait_for(lambda: local_peek(SUBSCRIPTIONS_KEY) is not MISSING)


NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


def test_first_draws_go_to_django_while_draw_won_is_subscribed(served, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_ip": "10000/minute"}
    with time_machine.travel(NOW, tick=False):
        campaign = CampaignFactory(
            slug="lucky",
            kind=Campaign.Kind.DRAW,
            starts_at=NOW - dt.timedelta(days=1),
            ends_at=NOW + dt.timedelta(hours=1),
        )
        CouponTypeFactory(campaign=campaign, probability=1, valid_days=3650)
        people = [signed_in() for _ in range(5)]
        endpoint = endpoint_for(served, EventType.DRAW_WON)
        local_clear()
        assert campaign_by_slug("lucky") and campaign_odds(campaign)
        assert day_seed(campaign.pk, campaign.local_day())
        subscribed_types(reload=True)
    requests = [(token, None, []) for token, _ in people]

    with time_machine.travel(NOW, tick=True):
        answers, stats = served_race(
            f"/api/v1/campaigns/{campaign.slug}/draws", requests
        )

    assert [status for status, _ in answers] == [201] * 5
    assert stats["committed_items"] == 0
    run_queued_tasks()
    events = received_events(served, endpoint)
    assert Counter(e["type"] for e in events) == {"draw.won": 5}
    assert {e["data"]["draw"]["customer_id"] for e in events} == {
        client.customer.pk for _, client in people
    }


def test_grabs_go_to_django_and_the_sold_out_day_is_told_once(served, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_ip": "off"}
    rush_local_state_clear()
    # given five reserved (one coupon at the default ratio)
    campaign = rush_campaign(slug="tonight")
    people = customers(5)
    with time_machine.travel(RESERVING, tick=False):
        for person in people:
            assert (
                client_for(person)
                .post("/api/v1/campaigns/tonight/reservations")
                .status_code
                == 201
            )
    endpoint = endpoint_for(served, EventType.RUSH_SOLD_OUT, EventType.VOUCHER_ISSUED)
    with time_machine.travel(RUSHING, tick=False):
        rush_warm(campaign=campaign, day=DAY, now=RUSHING)
        local_clear()
        assert campaign_by_slug("tonight") is not None
        subscribed_types(reload=True)
    tokens = [token_create(customer=person).key for person in people]

    # when all five grab at once, twice
    with time_machine.travel(RUSHING, tick=True):
        first, stats = served_race(
            "/api/v1/campaigns/tonight/grabs", [(t, None, []) for t in tokens]
        )
        again, _ = served_race(
            "/api/v1/campaigns/tonight/grabs", [(t, None, []) for t in tokens]
        )

    # then one coupon, and the day told sold out once
    assert Counter(status for status, _ in first) == {201: 1, 409: 4}
    assert stats["committed_items"] == 0
    run_queued_tasks()
    events = received_events(served, endpoint)
    assert Counter(e["type"] for e in events) == {
        "voucher.issued": 1,
        "rush.sold_out": 1,
    }
    sold_out = next(e for e in events if e["type"] == "rush.sold_out")["data"]
    assert sold_out == {
        "campaign": "tonight",
        "day": DAY.isoformat(),
        "coupons": 1,
        "reservations": 5,
    }
    assert Counter(status for status, _ in again) == {409: 5}  # told nothing more
    rush_local_state_clear()
