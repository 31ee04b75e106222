"""History pages (``ReadOnlyAdminMixin``) show their rows without Save buttons and
keep what each allowed before: nothing, except deleting draws, email
verifications and sign-in codes, and adding releases (through their service)."""

import pytest
from django.urls import reverse

from couponsite.models import AuditEntry
from customers.models import EmailVerification, OneTimeCode
from customers.services import email_verification_start, otp_send
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.models import Claim, Grab, Reservation, RushDay
from draws.pool import Release
from draws.rush.tests.rush_support import rush_with_one_grab
from draws.tests.factories import DrawFactory
from vouchers.models import VoucherEvent
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _claimed():
    claim_take(campaign=claim_campaign(released=1), customer=CustomerFactory())


def _verifying():
    email_verification_start(customer=CustomerFactory(), email="new@example.com")


# model admin name, how to make one row, the row, may add, may delete
PAGES = [
    ("draws_draw", DrawFactory, lambda: DrawFactory._meta.model.objects.get(), 0, 0),
    ("draws_claim", _claimed, lambda: Claim.objects.get(), 0, 0),
    ("draws_release", _claimed, lambda: Release.objects.get(), 1, 0),
    ("draws_rushday", rush_with_one_grab, lambda: RushDay.objects.get(), 0, 0),
    ("draws_reservation", rush_with_one_grab, lambda: Reservation.objects.first(), 0, 0),
    ("draws_grab", rush_with_one_grab, lambda: Grab.objects.get(), 0, 0),
    ("vouchers_voucher", VoucherFactory, lambda: VoucherFactory._meta.model.objects.get(), 0, 0),
    ("vouchers_voucherevent", _claimed, lambda: VoucherEvent.objects.first(), 0, 0),
    ("couponsite_auditentry", _claimed, lambda: AuditEntry.objects.first(), 0, 0),
    ("customers_emailverification", _verifying, lambda: EmailVerification.objects.get(), 0, 1),
    ("customers_onetimecode", lambda: otp_send(phone="+14155550100"), lambda: OneTimeCode.objects.get(), 0, 1),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "row", "may_add", "may_delete"), PAGES)
def test_a_history_page_is_shown_without_save_buttons(
    admin_client, name, make, row, may_add, may_delete
):
    make()
    obj = row()
    change_url = reverse(f"admin:{name}_change", args=[obj.pk])

    page = admin_client.get(change_url)
    post = admin_client.post(change_url, {})
    add = admin_client.get(reverse(f"admin:{name}_add"))
    delete = admin_client.get(reverse(f"admin:{name}_delete", args=[obj.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert post.status_code == 403
    assert add.status_code == (200 if may_add else 403)
    assert delete.status_code == (200 if may_delete else 403)


def test_the_campaign_page_shows_a_rushs_days_read_only(admin_client):
    rush_with_one_grab()
    campaign = RushDay.objects.get().campaign

    page = admin_client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    )

    [days] = [
        inline
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is RushDay
    ]
    assert not days.has_change_permission
    assert not days.has_add_permission and not days.has_delete_permission
    assert 'name="_save"' in page.content.decode()  # the campaign itself is edited


def test_a_vouchers_history_is_a_timeline_on_its_read_only_page(admin_client):
    _claimed()
    voucher = VoucherEvent.objects.first().voucher

    page = admin_client.get(reverse("admin:vouchers_voucher_change", args=[voucher.pk]))

    assert page.context["inline_admin_formsets"] == []  # nothing to submit
    html = page.content.decode()
    assert 'class="voucher-timeline"' in html and "Claimed" in html
    assert 'name="_save"' not in html
