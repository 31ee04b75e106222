"""The admin refuses what the API refuses, with the API's words (campaigns.rules)."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from campaigns.rules import (
    DRAW_WITHOUT_ODDS,
    ENDS_BEFORE_IT_STARTS,
    ENDS_IN_THE_PAST,
    RUSH_NOT_ONE_TYPE,
    RUSH_RATIO_ZERO,
    RUSH_TIME_FRACTION,
    TYPE_NAMES_REPEATED,
)
from campaigns.tests.admin_forms import (
    campaign_add_form,
    campaign_add_url,
    form_as_posted,
)
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/campaigns"
NOW = timezone.now().replace(microsecond=0)
PRIZE = {"name": "Prize", "probability": "0.5"}


def _api_payload(campaign: dict, types: list[dict]) -> dict:
    return {
        "name": "Rules",
        "kind": "draw",
        "timezone": "UTC",
        "starts_at": (NOW - dt.timedelta(days=1)).isoformat(),
        "ends_at": (NOW + dt.timedelta(days=30)).isoformat(),
        **{
            name: value.isoformat() if isinstance(value, dt.datetime) else value
            for name, value in campaign.items()
        },
        "coupon_types": [
            {"benefit_kind": "percent", "percent": "5", **coupon_type}
            for coupon_type in types
        ],
    }


def _admin_form(campaign: dict, types: list[dict]) -> dict:
    """The same campaign in the admin's add form (its times are UTC, the server's)."""
    data = {
        key: value
        for key, value in campaign_add_form(name="Rules", slug="rules").items()
        if not key.startswith("coupon_types-0-")
    }
    for name, value in campaign.items():
        if isinstance(value, dt.datetime):
            data[f"{name}_0"] = value.strftime("%Y-%m-%d")
            data[f"{name}_1"] = value.strftime("%H:%M:%S")
        else:
            data[name] = value
    data["coupon_types-TOTAL_FORMS"] = str(len(types))
    for n, coupon_type in enumerate(types):
        fields = {
            "benefit_kind": "percent",
            "percent": "5",
            "probability": "0",
            "valid_days": "30",
            "hold_seconds": "300",
            "code_length": "10",
            "quota_shards": "1",
            **coupon_type,
        }
        data.update({f"coupon_types-{n}-{k}": v for k, v in fields.items()})
    return data


def _add(campaign: dict) -> str:
    return campaign_add_url(campaign.get("kind", "draw"))


def _admin_errors(response) -> dict[str, list[str]]:
    """The errors the page shows: the campaign's by field, its inline's as
    ``coupon_types``."""
    errors = {k: list(v) for k, v in response.context["adminform"].form.errors.items()}
    inline = response.context["inline_admin_formsets"][0].formset
    if inline.non_form_errors():
        errors["coupon_types"] = list(inline.non_form_errors())
    return errors


PAST = NOW - dt.timedelta(days=1)
RUSH = {"kind": "rush"}


@pytest.mark.parametrize(
    ("campaign", "types", "field", "message"),
    [
        pytest.param(
            {"starts_at": PAST - dt.timedelta(days=9), "ends_at": PAST},
            [PRIZE],
            "ends_at",
            ENDS_IN_THE_PAST,
            id="ended",
        ),
        pytest.param(
            {"starts_at": NOW + dt.timedelta(days=40)},
            [PRIZE],
            "ends_at",
            ENDS_BEFORE_IT_STARTS,
            id="ends-before-it-starts",
        ),
        pytest.param(
            {"timezone": "Mars/Olympus"},
            [PRIZE],
            "timezone",
            '"Mars/Olympus" is not a known time zone (like Europe/Paris).',
            id="unknown-time-zone",
        ),
        pytest.param(
            {},
            [PRIZE, {**PRIZE, "probability": "0.1"}],
            "coupon_types",
            TYPE_NAMES_REPEATED,
            id="names-repeated",
        ),
        pytest.param(
            {},
            [{"name": "A", "probability": "0"}, {"name": "B", "probability": "0"}],
            "coupon_types",
            DRAW_WITHOUT_ODDS,
            id="draw-without-odds",
        ),
        pytest.param(
            {},
            [{"name": "A", "probability": "0.6"}, {"name": "B", "probability": "0.6"}],
            "coupon_types",
            "Probabilities add up to 1.200000; they may add up to 1 at most.",
            id="odds-past-one",
        ),
        pytest.param(
            RUSH,
            [{"name": "A"}, {"name": "B"}],
            "coupon_types",
            RUSH_NOT_ONE_TYPE,
            id="rush-with-two-types",
        ),
        pytest.param(
            {**RUSH, "ratio": "0"},
            [{"name": "A"}],
            "ratio",
            RUSH_RATIO_ZERO,
            id="rush-ratio-zero",
        ),
        pytest.param(
            {**RUSH, "rush_opens": "22:59:00"},
            [{"name": "A"}],
            "rush_opens",
            "The rush must open after the reservation window closes, within 12 hours.",
            id="rush-windows-out-of-order",
        ),
    ],
)
def test_the_admin_refuses_what_the_api_refuses(
    admin_client, staff_client, campaign, types, field, message
):
    # when the same campaign is sent to the API and saved in the admin
    api = staff_client.post(API, _api_payload(campaign, types), format="json")
    page = admin_client.post(_add(campaign), _admin_form(campaign, types))

    # then both refuse it, naming the same field with the same words
    assert api.status_code == 400
    assert message in api.json()["fields"][field]
    assert page.status_code == 200
    assert message in _admin_errors(page)[field]
    assert message in html.unescape(page.content.decode())
    assert not Campaign.objects.exists()


def test_the_admin_refuses_a_window_time_with_a_fraction_of_a_second(
    admin_client, staff_client
):
    """The API's wall-time format already refuses fractions (a 400 naming the field)."""
    campaign = {**RUSH, "rush_opens": "23:00:00.500"}

    api = staff_client.post(API, _api_payload(campaign, [PRIZE]), format="json")
    page = admin_client.post(_add(campaign), _admin_form(campaign, [PRIZE]))

    assert api.status_code == 400 and "rush_opens" in api.json()["fields"]
    assert _admin_errors(page) == {"rush_opens": [RUSH_TIME_FRACTION]}
    assert not Campaign.objects.exists()


def test_the_admin_and_the_api_accept_the_same_campaign(admin_client, staff_client):
    types = [{"name": "A", "probability": "0.4"}, {"name": "B", "probability": "0.6"}]

    api = staff_client.post(API, _api_payload({}, types), format="json")
    page = admin_client.post(
        campaign_add_url(), _admin_form({"slug": "rules-2"}, types)
    )

    assert api.status_code == 201, api.json()
    assert page.status_code == 302, _admin_errors(page)
    assert Campaign.objects.count() == 2


# --- Changing a campaign: the form as the change page shows it, then one edit ---


def _change(admin_client, campaign: Campaign, **edits):
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    shown = admin_client.get(url).content.decode()
    return admin_client.post(url, form_as_posted(shown, **edits))


def _rush(**fields) -> Campaign:
    campaign = CampaignFactory(kind=Campaign.Kind.RUSH, **fields)
    CouponTypeFactory(campaign=campaign, name="Only", probability=0)
    return campaign


def test_a_campaign_saved_as_shown_is_accepted(admin_client):
    campaign = _rush()

    response = _change(admin_client, campaign, description="Tonight at 23:00.")

    assert response.status_code == 302, _admin_errors(response)
    campaign.refresh_from_db()
    assert campaign.description == "Tonight at 23:00."


def test_the_admin_refuses_a_second_coupon_type_on_a_rush(admin_client):
    campaign = _rush()

    response = _change(
        admin_client,
        campaign,
        **{
            "coupon_types-TOTAL_FORMS": "2",
            "coupon_types-1-name": "Second",
            "coupon_types-1-benefit_kind": "free_item",
            "coupon_types-1-free_item": "Coffee",
            "coupon_types-1-probability": "0",
            "coupon_types-1-valid_days": "30",
            "coupon_types-1-hold_seconds": "300",
            "coupon_types-1-code_length": "10",
        },
    )

    assert response.status_code == 200
    assert _admin_errors(response) == {"coupon_types": [RUSH_NOT_ONE_TYPE]}
    assert campaign.coupon_types.count() == 1


def test_a_campaign_keeps_its_kind_whatever_is_posted(admin_client):
    """The kind decides the form, so it is chosen once, before it."""
    campaign = CampaignFactory(kind=Campaign.Kind.DRAW)
    CouponTypeFactory.create_batch(2, campaign=campaign, probability=Decimal("0.1"))

    response = _change(admin_client, campaign, kind="rush", ratio="0.5")

    assert response.status_code == 302, _admin_errors(response)
    campaign.refresh_from_db()
    assert (campaign.kind, campaign.ratio) == (Campaign.Kind.DRAW, Decimal("0.2"))


def test_the_admin_refuses_a_rush_ratio_set_to_zero(admin_client):
    campaign = _rush()

    response = _change(admin_client, campaign, ratio="0")

    assert response.status_code == 200
    assert _admin_errors(response) == {"ratio": [RUSH_RATIO_ZERO]}
    campaign.refresh_from_db()
    assert campaign.ratio == Decimal("0.2")


def test_the_admin_refuses_a_draw_whose_odds_all_drop_to_zero(admin_client):
    coupon_type = CouponTypeFactory(probability=Decimal("0.5"))

    response = _change(
        admin_client, coupon_type.campaign, **{"coupon_types-0-probability": "0"}
    )

    assert response.status_code == 200
    assert _admin_errors(response) == {"coupon_types": [DRAW_WITHOUT_ODDS]}
    coupon_type.refresh_from_db()
    assert coupon_type.probability == Decimal("0.5")


def test_the_admin_refuses_a_draw_left_without_its_coupon_types(admin_client):
    coupon_type = CouponTypeFactory(probability=Decimal("0.5"))

    response = _change(
        admin_client, coupon_type.campaign, **{"coupon_types-0-DELETE": "on"}
    )

    assert response.status_code == 200
    assert _admin_errors(response) == {"coupon_types": [DRAW_WITHOUT_ODDS]}
    assert CouponType.objects.filter(pk=coupon_type.pk).exists()


def test_the_admin_refuses_a_rename_onto_another_type(admin_client):
    campaign = CampaignFactory()
    CouponTypeFactory(campaign=campaign, name="Gold", probability=Decimal("0.1"))
    CouponTypeFactory(campaign=campaign, name="Silver", probability=Decimal("0.1"))

    response = _change(admin_client, campaign, **{"coupon_types-1-name": "Gold"})

    assert response.status_code == 200
    assert TYPE_NAMES_REPEATED in _admin_errors(response)["coupon_types"]
    assert set(campaign.coupon_types.values_list("name", flat=True)) == {
        "Gold",
        "Silver",
    }


def test_the_admin_refuses_moving_an_end_into_the_past(admin_client):
    """An ended campaign stays editable (test_bounds), but a moved end must lie ahead."""
    campaign = CampaignFactory(
        starts_at=NOW - dt.timedelta(days=20), ends_at=NOW - dt.timedelta(days=10)
    )
    CouponTypeFactory(campaign=campaign)
    earlier = campaign.ends_at - dt.timedelta(days=1)

    response = _change(admin_client, campaign, ends_at_0=earlier.strftime("%Y-%m-%d"))

    assert response.status_code == 200
    assert _admin_errors(response) == {"ends_at": [ENDS_IN_THE_PAST]}


def test_the_admin_reads_a_coupon_type_as_the_api_does(admin_client):
    types = [{**PRIZE, "code_prefix": "spr-", "benefit_kind": "amount",
              "amount": "5", "currency": "usd", "percent": ""}]  # fmt: skip

    response = admin_client.post(campaign_add_url(), _admin_form({}, types))

    assert response.status_code == 302, _admin_errors(response)
    coupon_type = CouponType.objects.get(campaign__slug="rules")
    assert (coupon_type.code_prefix, coupon_type.currency) == ("SPR", "USD")


def test_the_admin_refuses_a_code_prefix_the_api_refuses(admin_client, staff_client):
    types = [{**PRIZE, "code_prefix": "UUU"}]  # U is not in the code alphabet

    page = admin_client.post(campaign_add_url(), _admin_form({}, types))
    api = staff_client.post(API, _api_payload({}, types), format="json")

    inline = page.context["inline_admin_formsets"][0].formset
    assert page.status_code == 200
    assert (
        inline.errors[0]["code_prefix"]
        == api.json()["fields"]["coupon_types.0.code_prefix"]
    )
    assert not Campaign.objects.filter(slug="rules").exists()


LONG_CATEGORY = "c" * 61


@pytest.mark.parametrize(
    ("type_fields", "rules", "field", "message"),
    [
        pytest.param(
            {},
            {"min_order_amount": "50"},
            "currency",
            "Name the currency the order must be in: min_order_amount are amounts "
            "of money.",
            id="money-rule-without-currency",
        ),
        pytest.param(
            {"currency": "HKD"},
            {"min_order_amount": "-1"},
            "min_order_amount",
            "Ensure this value is greater than or equal to 0.01.",
            id="negative-minimum",
        ),
        pytest.param(
            {"currency": "HKD"},
            {"max_discount": "123456789.00"},
            "max_discount",
            "Ensure that there are no more than 10 digits in total.",
            id="too-many-digits",
        ),
        pytest.param(
            {"benefit_kind": "amount", "amount": "5", "currency": "HKD"},
            {"max_discount": "3"},
            "max_discount",
            "Only a percentage off has a maximum discount.",
            id="max-discount-on-an-amount-off",
        ),
        pytest.param(
            {},
            {"categories": [LONG_CATEGORY]},
            "categories",
            "A category has at most 60 characters",
            id="category-too-long",
        ),
        pytest.param(
            {},
            {"per_customer_limit": 0},
            "per_customer_limit",
            "Ensure this value is greater than or equal to 1.",
            id="limit-zero",
        ),
    ],
)
def test_the_admin_and_the_api_refuse_the_same_redemption_rules(
    admin_client, staff_client, type_fields, rules, field, message
):
    # given one coupon type with these rules, as the API takes them (a `rules`
    # object) and as the admin's inline does (its fields, categories comma-separated)
    api_type = {**PRIZE, **type_fields, "rules": rules}
    admin_rules = {
        name: ",".join(value) if isinstance(value, list) else str(value)
        for name, value in rules.items()
    }
    admin_type = {**PRIZE, **type_fields, **admin_rules}

    # when both are sent
    api = staff_client.post(API, _api_payload({}, [api_type]), format="json")
    page = admin_client.post(_add({}), _admin_form({}, [admin_type]))

    # then both refuse them, naming the field with the same words
    assert api.status_code == 400
    assert api.json()["code"] == "VALIDATION_ERROR"
    path = "coupon_types.0." + (field if field == "currency" else f"rules.{field}")
    assert any(message in text for text in api.json()["fields"][path])
    assert page.status_code == 200
    inline = page.context["inline_admin_formsets"][0].formset
    assert any(message in text for text in inline.forms[0].errors[field])
    assert not Campaign.objects.exists()


def test_the_api_refuses_a_category_with_a_comma(staff_client):
    """The admin takes categories comma-separated, so only the API can send one."""
    coupon_type = {**PRIZE, "rules": {"categories": ["shoes,bags"]}}

    response = staff_client.post(API, _api_payload({}, [coupon_type]), format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["coupon_types.0.rules.categories.0"]
