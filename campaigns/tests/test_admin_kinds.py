"""The admin's campaign form by kind: the kind is chosen first, then the form shows
that kind's fields only (``campaigns.rules.CAMPAIGN_KIND_FIELDS`` and
``COUPON_TYPE_KIND_FIELDS``); a posted field of another kind is ignored."""

from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import RUSH_WINDOW_FIELDS, Campaign, CouponType
from campaigns.tests.admin_forms import campaign_add_form, campaign_add_url
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory

pytestmark = pytest.mark.django_db

CAMPAIGN = {"name", "slug", "description", "timezone", "starts_at", "ends_at"}
RUSH = {*RUSH_WINDOW_FIELDS, "ratio"}
TYPE = {
    "name", "category", "benefit_kind", "amount", "currency", "percent",
    "free_item", "valid_until", "code_prefix", "code_length",
    # Redemption rules: every kind's coupons have them.
    "min_order_amount", "max_discount", "categories", "per_customer_limit",
}  # fmt: skip
TYPE_OF_KIND = {
    "draw": {"probability", "total_quota", "daily_quota", "quota_shards", "valid_days"},
    "claim": {"hold_seconds"},
    "rush": {"valid_days"},
}
FORMSET_OWN = {"id", "campaign", "DELETE"}  # the inline formset's own fields


def _fields(page) -> tuple[set[str], set[str]]:
    """The campaign form's fields and its coupon type inline's."""
    campaign = set(page.context["adminform"].form.fields)
    [types] = [
        inline.formset
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is CouponType
    ]
    return campaign, set(types.empty_form.fields) - FORMSET_OWN


def test_adding_a_campaign_asks_its_kind_first(admin_client):
    page = admin_client.get(reverse("admin:campaigns_campaign_add"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "adminform" not in page.context
    for kind in Campaign.Kind.values:
        assert f'href="?kind={kind}"' in html


@pytest.mark.parametrize("kind", Campaign.Kind.values)
def test_the_add_form_shows_the_fields_of_its_kind_only(admin_client, kind):
    page = admin_client.get(campaign_add_url(kind))

    campaign, coupon_type = _fields(page)
    assert campaign == CAMPAIGN | {"status"} | (RUSH if kind == "rush" else set())
    assert coupon_type == TYPE | TYPE_OF_KIND[kind]
    assert Campaign.Kind(kind).label.lower() in page.context["title"]


@pytest.mark.parametrize("kind", Campaign.Kind.values)
def test_the_change_form_shows_the_fields_of_its_kind_only(admin_client, kind):
    campaign = CampaignFactory(kind=kind)
    CouponTypeFactory(campaign=campaign)

    page = admin_client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    )

    fields, coupon_type = _fields(page)
    assert fields == CAMPAIGN | (RUSH if kind == "rush" else set())  # status: actions
    assert coupon_type == TYPE | TYPE_OF_KIND[kind]


def test_a_draw_form_ignores_the_fields_of_other_kinds(admin_client):
    # given a draw posted with a rush's ratio, a claim's hold, and kind=rush
    data = campaign_add_form(
        kind="rush", ratio="0.9", **{"coupon_types-0-hold_seconds": "9"}
    )

    # when it is saved from the draw's form
    response = admin_client.post(campaign_add_url("draw"), data)

    # then the draw is made, with none of those values
    assert response.status_code == 302
    campaign = Campaign.objects.get(slug="admin-draw")
    assert (campaign.kind, campaign.ratio) == ("draw", Decimal("0.2"))
    assert campaign.coupon_types.get().hold_seconds == 300


def test_a_claim_form_ignores_odds_and_quotas(admin_client):
    data = campaign_add_form(
        **{
            "coupon_types-0-probability": "0.7",
            "coupon_types-0-daily_quota": "5",
            "coupon_types-0-hold_seconds": "600",
        }
    )

    response = admin_client.post(campaign_add_url("claim"), data)

    assert response.status_code == 302
    coupon_type = Campaign.objects.get(kind="claim").coupon_types.get()
    assert (coupon_type.probability, coupon_type.daily_quota) == (0, None)
    assert coupon_type.hold_seconds == 600


def test_an_unknown_kind_asks_again(admin_client):
    page = admin_client.get(f"{reverse('admin:campaigns_campaign_add')}?kind=lottery")

    assert page.status_code == 200
    assert "adminform" not in page.context
