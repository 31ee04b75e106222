"""A rush hands out exactly one coupon type: none, or more than one, is refused
with RUSH_NOT_CONFIGURED, never a guess at which type to give."""

import pytest
import time_machine

from campaigns.models import CouponType
from draws.models import Reservation
from draws.rush.services import RushNotConfigured, rush_local_state_clear
from draws.rush.services.common import rush_coupon_type
from draws.rush.tests.rush_support import (
    RESERVING,
    client_for,
    customers,
    rush_campaign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_process_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def _second_type(campaign) -> None:
    # The campaign rules refuse this now; a rush saved before them may have it.
    CouponType.objects.create(
        campaign=campaign, name="Second", benefit_kind="free_item", free_item="Tea"
    )


def test_a_rush_with_one_coupon_type_hands_it_out():
    campaign = rush_campaign()

    assert rush_coupon_type(campaign) == campaign.coupon_types.get()


def test_a_rush_without_a_coupon_type_is_not_configured():
    campaign = rush_campaign()
    campaign.coupon_types.all().delete()

    with pytest.raises(RushNotConfigured) as refused:
        rush_coupon_type(campaign)

    assert refused.value.detail == "This rush has no coupon type to hand out."


def test_a_rush_with_two_coupon_types_is_not_configured():
    campaign = rush_campaign()
    _second_type(campaign)

    with pytest.raises(RushNotConfigured) as refused:
        rush_coupon_type(campaign)

    assert "more than one coupon type" in refused.value.detail


def test_reserving_in_a_rush_with_two_coupon_types_is_refused():
    campaign = rush_campaign(slug="two-types")
    _second_type(campaign)

    with time_machine.travel(RESERVING, tick=False):
        response = client_for(customers(1)[0]).post(
            "/api/v1/campaigns/two-types/reservations"
        )

    assert response.status_code == 409
    assert response.json() == {
        "code": "RUSH_NOT_CONFIGURED",
        "detail": "This rush has more than one coupon type; it hands out exactly one.",
    }
    assert not Reservation.objects.exists()
