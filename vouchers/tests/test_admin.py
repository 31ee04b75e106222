"""The admin works through the same services as the API."""

import pytest
from django.urls import reverse

from campaigns.tests.admin_forms import campaign_add_form, campaign_add_url
from campaigns.tests.dashboard_support import admin_figures
from campaigns.tests.factories import CouponTypeFactory
from couponsite.codes import display_code
from draws.tests.factories import DrawFactory
from vouchers.models import Voucher, VoucherEvent
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "campaigns_campaign",
        "draws_release",
        "vouchers_voucher",
        "vouchers_offer",
        "vouchers_voucherevent",
        "draws_draw",
        "draws_claim",
        "draws_rushday",
        "draws_reservation",
        "draws_grab",
        "customers_customer",
        "customers_onetimecode",
        "customers_apitoken",
    ],
)
def test_changelists_load(admin_client, name):
    VoucherFactory()
    DrawFactory()

    response = admin_client.get(reverse(f"admin:{name}_changelist"))

    assert response.status_code == 200


def test_the_old_address_of_releases_leads_to_their_new_one(admin_client):
    response = admin_client.get("/admin/campaigns/release/?q=sport")

    assert response.status_code == 302
    assert response["Location"] == "/admin/draws/release/?q=sport"


def test_campaign_change_page_shows_types_inline(admin_client):
    coupon_type = CouponTypeFactory(name="$5 Cash Coupon")

    response = admin_client.get(
        reverse("admin:campaigns_campaign_change", args=[coupon_type.campaign.pk])
    )

    assert "$5 Cash Coupon" in response.content.decode()


def test_voucher_search_finds_a_code_however_typed(admin_client):
    voucher = VoucherFactory()
    VoucherFactory()
    typed = display_code(voucher.code).lower().replace("0", "o")

    response = admin_client.get(
        reverse("admin:vouchers_voucher_changelist"), {"q": typed}
    )

    assert list(response.context["cl"].result_list) == [voucher]


def test_search_by_phone(admin_client):
    voucher = VoucherFactory()
    VoucherFactory()

    response = admin_client.get(
        reverse("admin:vouchers_voucher_changelist"), {"q": voucher.owner.phone}
    )

    assert list(response.context["cl"].result_list) == [voucher]


def test_void_action_asks_for_a_reason_then_records_who_and_why(
    admin_client, admin_user
):
    voucher = VoucherFactory()
    url = reverse("admin:vouchers_voucher_changelist")
    selection = {"action": "voucher_void", "_selected_action": [voucher.pk]}

    ask = admin_client.post(url, selection)
    done = admin_client.post(url, {**selection, "apply": "1", "reason": "fraud"})

    assert ask.status_code == 200 and "reason" in ask.content.decode()
    assert done.status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.VOID
    event = VoucherEvent.objects.get(voucher=voucher, kind="voided")
    assert (event.actor, event.reason) == (admin_user, "fraud")


def test_rollback_action_restores_a_redeemed_voucher(admin_client):
    from django.utils import timezone

    voucher = VoucherFactory(status=Voucher.Status.REDEEMED, used_at=timezone.now())

    admin_client.post(
        reverse("admin:vouchers_voucher_changelist"),
        {
            "action": "voucher_rollback_redemption",
            "_selected_action": [voucher.pk],
            "apply": "1",
            "reason": "order cancelled",
        },
    )

    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED and voucher.used_at is None


def test_campaign_with_coupon_types_is_created_in_the_admin(admin_client, admin_user):
    from campaigns.models import Campaign

    data = campaign_add_form(
        **{
            "coupon_types-0-category": "cash",
            "coupon_types-0-total_quota": "100",
            "coupon_types-0-daily_quota": "10",
        }
    )

    response = admin_client.post(campaign_add_url(), data)

    assert response.status_code == 302, (
        response.context["errors"] if response.context else ""
    )
    campaign = Campaign.objects.get(slug="admin-draw")
    assert campaign.created_by == admin_user
    assert campaign.coupon_types.get().daily_quota == 10


def test_admin_refuses_probabilities_over_one(admin_client):
    from campaigns.models import Campaign

    coupon_type = CouponTypeFactory(probability="0.6")
    campaign = coupon_type.campaign
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    form = admin_client.get(url).context["adminform"].form
    inline = admin_client.get(url).context["inline_admin_formsets"][0].formset
    data = {**{k: v for k, v in form.initial.items() if v is not None}}
    data.update(
        {
            "starts_at_0": campaign.starts_at.strftime("%Y-%m-%d"),
            "starts_at_1": campaign.starts_at.strftime("%H:%M:%S"),
            "ends_at_0": campaign.ends_at.strftime("%Y-%m-%d"),
            "ends_at_1": campaign.ends_at.strftime("%H:%M:%S"),
            "description": "",
            f"{inline.prefix}-TOTAL_FORMS": "2",
            f"{inline.prefix}-INITIAL_FORMS": "1",
            f"{inline.prefix}-0-id": str(coupon_type.pk),
            f"{inline.prefix}-0-campaign": str(campaign.pk),
            f"{inline.prefix}-0-name": coupon_type.name,
            f"{inline.prefix}-0-benefit_kind": "amount",
            f"{inline.prefix}-0-amount": "5",
            f"{inline.prefix}-0-currency": "USD",
            f"{inline.prefix}-0-probability": "0.6",
            f"{inline.prefix}-0-valid_days": "30",
            f"{inline.prefix}-0-hold_seconds": "300",
            f"{inline.prefix}-1-name": "Another",
            f"{inline.prefix}-1-benefit_kind": "free_item",
            f"{inline.prefix}-1-free_item": "Coffee",
            f"{inline.prefix}-1-probability": "0.6",
            f"{inline.prefix}-1-valid_days": "30",
            f"{inline.prefix}-1-hold_seconds": "300",
        }
    )
    data = {
        k: ("" if v is None else v) for k, v in data.items() if not hasattr(v, "pk")
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "add up to" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).coupon_types.count() == 1


def test_campaign_page_shows_live_figures(admin_client):
    from customers.tests.factories import CustomerFactory
    from draws.draw.services import draw_run

    coupon_type = CouponTypeFactory(name="Hot prize", probability=1, daily_quota=4)
    draw_run(campaign=coupon_type.campaign, customer=CustomerFactory())

    page = admin_client.get(
        reverse("admin:campaigns_campaign_change", args=[coupon_type.campaign.pk])
    ).content.decode()

    assert admin_figures(page)["draws_today"] == 1
    assert 'aria-label="25% of the daily quota"' in page


@pytest.mark.parametrize(
    ("changelist", "action", "header"),
    [
        (
            "admin:draws_draw_changelist",
            "export_draws",
            "created_at,campaign,day,phone,won",
        ),
        (
            "admin:vouchers_voucherevent_changelist",
            "export_voucher-events",
            "created_at,kind,code",
        ),
    ],
)
def test_csv_exports(admin_client, changelist, action, header):
    from customers.tests.factories import CustomerFactory
    from draws.draw.services import draw_run

    coupon_type = CouponTypeFactory(probability=1)
    result = draw_run(campaign=coupon_type.campaign, customer=CustomerFactory())
    from vouchers.services import voucher_redeem

    voucher_redeem(code=result.voucher.code, customer=result.customer, order_ref="O-1")
    model = "draw" if "draw" in changelist else "event"
    ids = (
        [result.pk]
        if model == "draw"
        else list(VoucherEvent.objects.values_list("pk", flat=True))
    )

    response = admin_client.post(
        reverse(changelist), {"action": action, "_selected_action": ids}
    )

    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    assert text.startswith(header)
    assert display_code(result.voucher.code) in text


def test_admin_refuses_rush_windows_in_the_wrong_order(admin_client):
    from campaigns.models import Campaign

    data = {
        "name": "Bad Rush",
        "slug": "bad-rush",
        "kind": "rush",
        "status": "active",
        "description": "",
        "timezone": "Asia/Taipei",
        "starts_at_0": "2026-01-01",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2099-01-01",
        "ends_at_1": "00:00:00",
        "reservation_opens": "22:55:00",
        "reservation_closes": "23:10:00",
        "rush_opens": "23:00:00",
        "rush_closes": "23:00:59",
        "ratio": "0.2",
        "coupon_types-TOTAL_FORMS": "0",
        "coupon_types-INITIAL_FORMS": "0",
        "coupon_types-MIN_NUM_FORMS": "0",
        "coupon_types-MAX_NUM_FORMS": "1000",
    }

    response = admin_client.post(campaign_add_url("rush"), data)

    assert response.status_code == 200
    assert (
        "The rush must open after the reservation window" in response.content.decode()
    )
    assert not Campaign.objects.filter(slug="bad-rush").exists()


def test_rush_campaign_page_lists_its_days(admin_client):
    from campaigns.models import Campaign

    campaign = CouponTypeFactory(campaign__kind=Campaign.Kind.RUSH).campaign

    response = admin_client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    )

    assert response.status_code == 200
    assert any(
        inline.formset.model.__name__ == "RushDay"
        for inline in response.context["inline_admin_formsets"]
    )
