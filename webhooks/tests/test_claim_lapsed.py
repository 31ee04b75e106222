"""``claim.lapsed`` when a lapsed hold is claimed again (no sweep ran), and the
claim's thin route leaves first claims to Django while it is subscribed."""

import datetime as dt

import pytest
import time_machine

from couponsite.testing.tasks import run_queued_tasks
from couponsite.testing.thin import thin_answer
from customers.services import token_create
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.models import Claim
from draws.tests.thin_support import held
from webhooks.events import EventType
from webhooks.subscriptions import subscribed_types
from webhooks.tests.support import endpoint_for, received_events

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)


def test_a_lapsed_hold_claimed_again_is_told_with_its_last_holder(served):
    endpoint = endpoint_for(served, EventType.CLAIM_LAPSED)
    campaign = claim_campaign(released=1, hold_seconds=300)
    holder, late = make_customers(2)
    with time_machine.travel(T0, tick=False):
        first = claim_take(campaign=campaign, customer=holder)
    with time_machine.travel(T0 + dt.timedelta(seconds=300), tick=False):
        second = claim_take(campaign=campaign, customer=late)

    run_queued_tasks()
    (event,) = received_events(served, endpoint)
    assert second.voucher_id == first.voucher_id
    assert event["type"] == "claim.lapsed"
    assert event["data"]["customer_id"] == holder.pk
    assert event["data"]["voucher"] == {
        "id": first.voucher_id,
        "code": first.voucher.code,
    }
    assert event["data"]["campaign"] == campaign.slug


@pytest.mark.usefixtures("thin_path")
def test_first_claims_go_to_django_while_claim_lapsed_is_subscribed(served):
    campaign = claim_campaign(released=1, hold_seconds=300)
    (customer,) = make_customers(1)
    token = token_create(customer=customer).key
    endpoint_for(served, EventType.CLAIM_LAPSED)
    held(campaign.slug)  # the campaign, and the subscription, as Django read them
    assert EventType.CLAIM_LAPSED in subscribed_types()

    passed, *_ = thin_answer(f"/api/v1/campaigns/{campaign.slug}/claims", token)

    assert passed
    assert not Claim.objects.exists()
