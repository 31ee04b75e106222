"""A coupon type's validity is bounded and a campaign must end ahead, wherever it is
made: the API (test_api_campaigns), the admin and the database itself."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.models import MAX_VALID_DAYS, Campaign, CouponType
from campaigns.tests.admin_forms import campaign_add_form, campaign_add_url
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory

pytestmark = pytest.mark.django_db


def test_the_longest_validity_gives_an_expiry():
    coupon_type = CouponTypeFactory(valid_days=MAX_VALID_DAYS)

    expires = coupon_type.expiry_from(timezone.now())

    assert expires.year >= timezone.now().year + 9


@pytest.mark.parametrize("days", [MAX_VALID_DAYS + 1, 3_000_000, 2147483647])
def test_the_database_refuses_a_validity_past_the_bound(days):
    coupon_type = CouponTypeFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        CouponType.objects.filter(pk=coupon_type.pk).update(valid_days=days)


def test_admin_form_is_accepted_as_given(admin_client):
    response = admin_client.post(campaign_add_url(), campaign_add_form())

    assert response.status_code == 302
    assert Campaign.objects.filter(slug="admin-draw").exists()


def test_admin_refuses_a_validity_past_the_bound(admin_client):
    response = admin_client.post(
        campaign_add_url(),
        campaign_add_form(**{"coupon_types-0-valid_days": "3000000"}),
    )

    assert response.status_code == 200
    assert f"less than or equal to {MAX_VALID_DAYS}" in response.content.decode()
    assert not Campaign.objects.exists()


def test_admin_refuses_a_campaign_that_already_ended(admin_client):
    yesterday = timezone.now() - dt.timedelta(days=1)
    response = admin_client.post(
        campaign_add_url(),
        campaign_add_form(
            starts_at_0=(yesterday - dt.timedelta(days=9)).strftime("%Y-%m-%d"),
            ends_at_0=yesterday.strftime("%Y-%m-%d"),
        ),
    )

    assert response.status_code == 200
    assert "A campaign must end in the future." in response.content.decode()
    assert not Campaign.objects.exists()


def test_admin_still_edits_a_campaign_that_ended(admin_client):
    """Only a new or moved end must lie ahead: an ended campaign's text can change."""
    now = timezone.now()
    campaign = CampaignFactory(
        starts_at=now - dt.timedelta(days=20), ends_at=now - dt.timedelta(days=10)
    )
    CouponTypeFactory(campaign=campaign)  # a draw needs one with a probability
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    local_start, local_end = campaign.starts_at, campaign.ends_at  # admin: UTC
    data = campaign_add_form(
        name=campaign.name,
        slug=campaign.slug,
        timezone=campaign.timezone,
        description="Thanks for taking part.",
        starts_at_0=local_start.strftime("%Y-%m-%d"),
        starts_at_1=local_start.strftime("%H:%M:%S"),
        ends_at_0=local_end.strftime("%Y-%m-%d"),
        ends_at_1=local_end.strftime("%H:%M:%S"),
        **{"coupon_types-TOTAL_FORMS": "0"},
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    campaign.refresh_from_db()
    assert campaign.description == "Thanks for taking part."
