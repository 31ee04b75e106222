"""Every event type, emitted at its source, reaches a real receiver once per
attempt, signed; a rolled-back effect sends nothing."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.claim.services import holds_release_expired
from draws.draw.services import draw_run
from vouchers.models import Voucher
from vouchers.services import (
    voucher_issue,
    voucher_redeem,
    voucher_rollback_redemption,
    voucher_void,
    vouchers_generate,
)
from vouchers.tests.factories import VoucherFactory
from webhooks.events import EventType
from webhooks.models import Delivery, Event
from webhooks.receiver_example import verify
from webhooks.services import UnknownEventType, emit
from webhooks.tests.support import deliver_all, endpoint_for

pytestmark = pytest.mark.django_db


def _no_contact_details(events: list[dict]) -> None:
    text = json.dumps(events)
    assert "@" not in text and "+1" not in text and "phone" not in text


def test_every_voucher_and_draw_event_arrives_once_signed(served):
    # given an endpoint subscribed to everything
    endpoint = endpoint_for(served)
    customer = CustomerFactory(email="ann@example.com")
    coupon_type = CouponTypeFactory(campaign=CampaignFactory(slug="spring"))

    # when each effect happens
    issued = voucher_issue(coupon_type=coupon_type, owner=customer)
    redeemed = voucher_redeem(code=issued.code, customer=customer, order_ref="A-1")
    voucher_rollback_redemption(voucher=redeemed, acting_user=None, reason="cancelled")
    voucher_void(voucher=redeemed, acting_user=None, reason="fraud")
    held = VoucherFactory(
        status=Voucher.Status.HELD,
        held_until=timezone.now() - dt.timedelta(minutes=1),
        campaign=coupon_type.campaign,
        coupon_type=coupon_type,
    )
    assert holds_release_expired() == 1

    # then the receiver got each event once, signed, in order
    events = deliver_all(served, endpoint)
    assert [e["type"] for e in events] == [
        "voucher.issued",
        "voucher.redeemed",
        "voucher.rolled_back",
        "voucher.voided",
        "claim.lapsed",
    ]
    assert len({e["id"] for e in events}) == 5
    issued_data = events[0]["data"]["voucher"]
    assert issued_data["code"] == issued.code
    assert issued_data["campaign"] == "spring"
    assert issued_data["customer_id"] == customer.pk
    assert issued_data["benefit"]["amount"] == "5.00"
    assert events[1]["data"]["voucher"]["order_ref"] == "A-1"
    assert events[2]["data"]["before"] == {"order_ref": "A-1"}
    assert events[3]["data"]["voucher"]["status"] == "void"
    assert events[4]["data"] == {
        "voucher": {"id": held.pk, "code": held.code},
        "campaign": "spring",
        "customer_id": held.owner_id,
        "held_until": events[4]["data"]["held_until"],
    }
    told = dt.datetime.fromisoformat(events[4]["data"]["held_until"])
    assert abs(told - held.held_until) < dt.timedelta(milliseconds=1)  # ISO 8601, ms
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == 5
    _no_contact_details(events)


def test_a_draw_won_tells_the_win_and_the_voucher_issued(served):
    endpoint = endpoint_for(served, EventType.DRAW_WON, EventType.VOUCHER_ISSUED)
    campaign = CampaignFactory(slug="lucky", kind=Campaign.Kind.DRAW)
    CouponTypeFactory(campaign=campaign, probability=Decimal(1))
    customer = CustomerFactory()

    draw = draw_run(campaign=campaign, customer=customer, roll=0.0)

    events = deliver_all(served, endpoint)
    assert draw.won
    assert sorted(e["type"] for e in events) == ["draw.won", "voucher.issued"]
    won = next(e for e in events if e["type"] == "draw.won")["data"]
    assert won["draw"]["id"] == draw.pk and won["draw"]["campaign"] == "lucky"
    assert won["voucher"]["code"] == draw.voucher.code
    _no_contact_details(events)


def test_generated_vouchers_are_told_without_their_emails(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_ISSUED)

    vouchers = vouchers_generate(
        emails=["a@example.com", "b@example.com"],
        offer_name="Welcome",
        discount=Decimal("10"),
        expires_at=timezone.now() + dt.timedelta(days=10),
        acting_user=None,
    )

    events = deliver_all(served, endpoint)
    assert sorted(e["data"]["voucher"]["code"] for e in events) == sorted(
        v.code for v in vouchers
    )
    assert {e["data"]["voucher"]["offer"] for e in events} == {"Welcome"}
    _no_contact_details(events)


def test_only_the_subscribed_types_are_sent(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    voucher = VoucherFactory()

    voucher_redeem(code=voucher.code, customer=voucher.owner)
    voucher_rollback_redemption(voucher=voucher, acting_user=None, reason="x")
    voucher_void(voucher=voucher, acting_user=None, reason="x")

    assert [e["type"] for e in deliver_all(served, endpoint)] == ["voucher.voided"]
    assert Event.objects.count() == 1


def test_a_rolled_back_effect_sends_nothing(served):
    endpoint = endpoint_for(served)
    voucher = VoucherFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        voucher_void(voucher=voucher, acting_user=None, reason="mistake")
        raise RuntimeError("the caller's transaction fails")

    assert deliver_all(served, endpoint) == []
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_with_nobody_subscribed_emit_runs_no_query(served, django_assert_num_queries):
    emit(EventType.VOUCHER_REDEEMED, {"voucher": {"id": 1}})  # reads subscriptions once
    with django_assert_num_queries(0):
        for _ in range(100):
            assert emit(EventType.VOUCHER_REDEEMED, {"voucher": {"id": 1}}) is None
    with pytest.raises(UnknownEventType):
        emit("voucher.lost", {})


def test_an_inactive_endpoint_gets_nothing(served):
    endpoint = endpoint_for(served)
    endpoint.active = False
    endpoint.save()
    endpoint_for(
        served, EventType.DRAW_WON
    )  # someone else subscribes (to another type)

    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")

    assert deliver_all(served, endpoint) == []
    assert not Event.objects.exists()


def test_the_receiver_example_refuses_an_old_or_forged_delivery(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")
    assert len(deliver_all(served, endpoint)) == 1
    (request,) = served.received()
    header, body = request.headers["Couponsite-Signature"], request.body
    signed_at = int(header.split(",")[0][2:])

    assert verify(secret=endpoint.secret, header=header, body=body)
    assert not verify(secret=endpoint.secret, header=header, body=body + b" ")
    assert not verify(secret="whsec_other", header=header, body=body)
    assert not verify(
        secret=endpoint.secret, header=header, body=body, now=signed_at + 301
    )
    assert not verify(secret=endpoint.secret, header="v1=abc", body=body)


def test_the_documented_receiver_is_the_tested_one():
    """docs/webhooks.md quotes ``verify`` as the tests run it."""
    import inspect
    from pathlib import Path

    from django.conf import settings

    doc = (Path(settings.BASE_DIR) / "docs" / "webhooks.md").read_text()
    assert inspect.getsource(verify) in doc
