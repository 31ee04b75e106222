"""The back office's roles (couponsite.roles): each is allowed what it needs and
refused the rest, by a 403 or by the action not being offered."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tests.admin_forms import campaign_add_url
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.roles import ANALYST, CAMPAIGN_MANAGER, ROLES, SUPPORT
from couponsite.tests.roles_support import staff_in
from draws.pool import Release
from vouchers.models import Voucher
from vouchers.tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db

CAMPAIGNS = reverse("admin:campaigns_campaign_changelist")
VOUCHERS = reverse("admin:vouchers_voucher_changelist")
RELEASE_ADD = reverse("admin:draws_release_add")


@pytest.fixture
def as_role(client):
    def sign_in(role: str):
        client.force_login(staff_in(role))
        return client

    return sign_in


def _offered(client, url: str) -> set[str]:
    """The actions a changelist offers its user (none: the page is refused)."""
    page = client.get(url)
    if page.status_code != 200 or page.context.get("action_form") is None:
        return set()
    return {name for name, _ in page.context["action_form"].fields["action"].choices}


def _act(client, url: str, action: str, rows, reason: str = "Asked by the customer"):
    return client.post(
        url,
        {
            "action": action,
            "_selected_action": [row.pk for row in rows],
            "apply": "1",
            "reason": reason,
        },
    )


def _redeemed() -> Voucher:
    return VoucherFactory(
        status=Voucher.Status.REDEEMED, used_at=timezone.now(), order_ref="A-1"
    )


def _release(client):
    claim = CouponTypeFactory(campaign=CampaignFactory(kind=Campaign.Kind.CLAIM))
    return client.post(RELEASE_ADD, {"coupon_type": claim.pk, "count": 5, "note": ""})


def test_the_migration_made_the_roles_with_their_permissions():
    for name, permissions in ROLES.items():
        group = Group.objects.get(name=name)
        given = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert given == set(permissions)


def test_a_campaign_manager_runs_campaigns_and_releases_but_no_rollback(as_role):
    client = as_role(CAMPAIGN_MANAGER)
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    voucher, redeemed = VoucherFactory(), _redeemed()

    assert client.get(campaign_add_url("draw")).status_code == 200
    assert _release(client).status_code == 302
    assert Release.objects.count() == 1
    assert {"campaign_activate", "campaign_pause", "campaign_end"} <= _offered(
        client, CAMPAIGNS
    )
    _act(client, CAMPAIGNS, "campaign_activate", [campaign])
    _act(client, VOUCHERS, "voucher_void", [voucher])
    _act(client, VOUCHERS, "voucher_rollback_redemption", [redeemed])

    campaign.refresh_from_db(), voucher.refresh_from_db(), redeemed.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE
    assert voucher.status == Voucher.Status.VOID
    assert "voucher_rollback_redemption" not in _offered(client, VOUCHERS)
    assert redeemed.status == Voucher.Status.REDEEMED
    assert client.get(reverse("admin:customers_customer_changelist")).status_code == 403


def test_support_reads_customers_voids_and_rolls_back_but_runs_no_campaign(as_role):
    client = as_role(SUPPORT)
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    voucher, redeemed = VoucherFactory(), _redeemed()

    assert client.get(reverse("admin:customers_customer_changelist")).status_code == 200
    assert {"voucher_void", "voucher_rollback_redemption"} <= _offered(client, VOUCHERS)
    _act(client, VOUCHERS, "voucher_void", [voucher])
    _act(client, VOUCHERS, "voucher_rollback_redemption", [redeemed])
    voucher.refresh_from_db(), redeemed.refresh_from_db()
    assert (voucher.status, redeemed.status) == (Voucher.Status.VOID, "issued")

    assert client.get(campaign_add_url("draw")).status_code == 403
    assert client.get(CAMPAIGNS).status_code == 403
    assert _act(client, CAMPAIGNS, "campaign_activate", [campaign]).status_code == 403
    assert _release(client).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert not Release.objects.exists()


def test_an_analyst_reads_everything_and_changes_nothing(as_role):
    client = as_role(ANALYST)
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    coupon_type = CouponTypeFactory(campaign=campaign)
    voucher = VoucherFactory()
    change = reverse("admin:campaigns_campaign_change", args=[campaign.pk])

    for name in [
        "campaigns_campaign", "customers_customer", "vouchers_voucher",
        "vouchers_voucherevent", "draws_claim", "draws_draw", "draws_release",
        "draws_grab", "couponsite_auditentry",
    ]:  # fmt: skip
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    page = client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(change, {"name": "Renamed"}).status_code == 403
    assert client.get(campaign_add_url("draw")).status_code == 403
    assert _release(client).status_code == 403
    assert not {"campaign_activate", "campaign_end"} & _offered(client, CAMPAIGNS)
    assert not {"voucher_void", "voucher_rollback_redemption"} & _offered(
        client, VOUCHERS
    )
    _act(client, VOUCHERS, "voucher_void", [voucher])
    _act(client, CAMPAIGNS, "campaign_end", [campaign])

    voucher.refresh_from_db(), campaign.refresh_from_db(), coupon_type.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED
    assert campaign.status == Campaign.Status.DRAFT


def test_a_release_again_needs_the_release_permission(as_role, admin_client):
    _release(admin_client)
    client = as_role(SUPPORT)
    Group.objects.get(name=SUPPORT).permissions.add(
        *Group.objects.get(name=ANALYST).permissions.filter(codename="view_release")
    )

    offered = _offered(client, reverse("admin:draws_release_changelist"))

    assert "release_again" not in offered
    assert Release.objects.count() == 1


def test_only_campaign_managers_rebuild_a_rush_in_redis(as_role):
    url = reverse("admin:draws_rushday_changelist")

    assert "reload_into_redis" in _offered(as_role(CAMPAIGN_MANAGER), url)


def test_an_analyst_may_not_rebuild_a_rush_in_redis(as_role):
    url = reverse("admin:draws_rushday_changelist")

    assert "reload_into_redis" not in _offered(as_role(ANALYST), url)


@pytest.mark.parametrize(
    ("role", "sees"), [(CAMPAIGN_MANAGER, True), (ANALYST, True), (SUPPORT, False)]
)
def test_who_reads_the_invariant_audit_and_release_schedules(as_role, role, sees):
    client = as_role(role)

    start = client.get(reverse("admin:index")).content.decode()
    runs = client.get(reverse("admin:draws_auditrun_changelist"))
    schedules = client.get(reverse("admin:draws_releaseschedule_changelist"))

    assert ('id="last-audit"' in start) is sees
    assert runs.status_code == (200 if sees else 403)
    assert schedules.status_code == (200 if sees else 403)
