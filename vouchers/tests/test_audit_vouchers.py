"""A staff action on vouchers is recorded once, in the vouchers' own history
(``VoucherEvent``: who and why), never a second time in the audit log; offers are
edited on a plain admin page, which records its edits in the audit log."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from couponsite.models import AuditEntry
from vouchers.models import Offer, Voucher, VoucherEvent
from vouchers.services import (
    AlreadyVoid,
    NotRedeemed,
    voucher_rollback_redemption,
    voucher_void,
)
from vouchers.tests.factories import OfferFactory, VoucherFactory

pytestmark = pytest.mark.django_db

VOUCHERS = reverse("admin:vouchers_voucher_changelist")


def _apply(admin_client, action: str, voucher: Voucher, reason: str):
    return admin_client.post(
        VOUCHERS,
        {
            "action": action,
            "_selected_action": [voucher.pk],
            "apply": "1",
            "reason": reason,
        },
    )


def test_a_void_from_the_admin_is_one_event_naming_who_and_why(
    admin_client, admin_user
):
    voucher = VoucherFactory()

    _apply(admin_client, "voucher_void", voucher, "fraud")

    event = VoucherEvent.objects.get()
    assert (event.kind, event.voucher, event.actor, event.reason) == (
        VoucherEvent.Kind.VOIDED,
        voucher,
        admin_user,
        "fraud",
    )
    assert not AuditEntry.objects.exists()


def test_a_rollback_from_the_admin_is_one_event_with_the_order(
    admin_client, admin_user
):
    voucher = VoucherFactory(
        status=Voucher.Status.REDEEMED, used_at=timezone.now(), order_ref="O-7"
    )

    _apply(admin_client, "voucher_rollback_redemption", voucher, "order cancelled")

    voucher.refresh_from_db()
    assert (voucher.status, voucher.order_ref) == (Voucher.Status.ISSUED, "")
    event = VoucherEvent.objects.get()
    assert (event.kind, event.actor, event.reason, event.data) == (
        VoucherEvent.Kind.REDEMPTION_ROLLED_BACK,
        admin_user,
        "order cancelled",
        {"order_ref": "O-7"},
    )
    assert not AuditEntry.objects.exists()


def test_staff_who_may_only_view_vouchers_cannot_void_them(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_voucher"))
    client.force_login(viewer)
    voucher = VoucherFactory()

    page = client.get(reverse("admin:vouchers_voucher_changelist"))
    _apply(client, "voucher_void", voucher, "fraud")

    assert page.status_code == 200
    assert "voucher_void" not in page.content.decode()
    voucher.refresh_from_db()
    assert voucher.status != Voucher.Status.VOID
    assert not VoucherEvent.objects.filter(kind=VoucherEvent.Kind.VOIDED).exists()


def test_refused_void_and_rollback_record_nothing(admin_user):
    void = VoucherFactory(status=Voucher.Status.VOID)
    issued = VoucherFactory()

    with pytest.raises(AlreadyVoid):
        voucher_void(voucher=void, acting_user=admin_user, reason="again")
    with pytest.raises(NotRedeemed):
        voucher_rollback_redemption(
            voucher=issued, acting_user=admin_user, reason="never redeemed"
        )

    assert not VoucherEvent.objects.exists()
    issued.refresh_from_db()
    assert issued.status == Voucher.Status.ISSUED


def test_a_refused_row_among_the_selected_is_reported_and_the_rest_done(
    admin_client,
):
    void, issued = VoucherFactory(status=Voucher.Status.VOID), VoucherFactory()

    response = admin_client.post(
        VOUCHERS,
        {
            "action": "voucher_void",
            "_selected_action": [void.pk, issued.pk],
            "apply": "1",
            "reason": "batch",
        },
        follow=True,
    )

    assert "Voided: 1; refused: 1." in [str(m) for m in response.context["messages"]]
    assert [e.voucher for e in VoucherEvent.objects.all()] == [issued]


def test_staff_redeeming_at_checkout_are_the_redeemer_and_the_events_actor(
    staff_client,
):
    voucher = VoucherFactory()

    response = staff_client.post(
        "/api/v1/vouchers/redeem", {"code": voucher.code}, format="json"
    )

    assert response.status_code == 200
    voucher.refresh_from_db()
    event = VoucherEvent.objects.get(kind=VoucherEvent.Kind.REDEEMED)
    assert voucher.redeemed_by == event.actor == staff_client.user
    assert not AuditEntry.objects.exists()


def test_vouchers_generated_through_the_api_name_the_staff_member(staff_client):
    response = staff_client.post(
        "/api/v1/vouchers",
        {
            "offer_name": "KOI",
            "discount": "22.1",
            "email": "a@example.com",
            "expires_at": (timezone.now() + dt.timedelta(days=30)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201
    event = VoucherEvent.objects.get(kind=VoucherEvent.Kind.ISSUED)
    assert (event.actor, event.data["count"]) == (staff_client.user, 1)
    assert not AuditEntry.objects.exists()


def test_vouchers_generated_in_the_admin_name_the_employee(admin_client, admin_user):
    admin_client.post(
        reverse("admin:vouchers_offer_generate"),
        {
            "offer_name": "KOI",
            "discount": "22.1",
            "expires_at": "2099-01-01 00:00",
            "emails_csv": SimpleUploadedFile("e.csv", b"ann@x.com\nbob@x.com\n"),
        },
    )

    event = VoucherEvent.objects.get(kind=VoucherEvent.Kind.ISSUED)
    assert (event.actor, event.data["count"]) == (admin_user, 2)


def test_offer_edits_in_the_admin_are_recorded(admin_client, admin_user):
    offer = OfferFactory(name="KOI", discount=Decimal("22.10"))
    url = reverse("admin:vouchers_offer_change", args=[offer.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {
        name: form.initial[name]
        for name in form.fields
        if form.initial.get(name) is not None
    }
    created = offer.created_at

    response = admin_client.post(
        url,
        {
            **data,
            "discount": "25",
            "created_at_0": created.strftime("%Y-%m-%d"),
            "created_at_1": created.strftime("%H:%M:%S.%f"),
        },
    )

    assert response.status_code == 302, response.context["errors"]
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.acting_user, entry.target) == (
        "offer.changed",
        admin_user,
        offer,
    )
    assert [Decimal(d) for d in entry.changes["discount"]] == [
        Decimal("22.10"),
        Decimal(25),
    ]


def test_offers_added_and_deleted_in_the_admin_are_recorded(admin_client):
    now = timezone.now()
    admin_client.post(
        reverse("admin:vouchers_offer_add"),
        {
            "name": "Spring",
            "discount": "10",
            "code_length": "10",
            "created_at_0": now.strftime("%Y-%m-%d"),
            "created_at_1": now.strftime("%H:%M:%S"),
        },
    )
    offer = Offer.objects.get(name="Spring")
    admin_client.post(
        reverse("admin:vouchers_offer_delete", args=[offer.pk]), {"post": "yes"}
    )

    assert not Offer.objects.exists()
    entries = AuditEntry.objects.order_by("id")
    assert [(e.action, e.target_repr) for e in entries] == [
        ("offer.created", "Spring"),
        ("offer.deleted", "Spring"),
    ]
    assert entries[0].changes["name"] == [None, "Spring"]
