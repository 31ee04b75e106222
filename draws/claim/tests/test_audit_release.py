"""A release is a staff action (audit row ``release.created``) as well as the coupons'
history (one ``RELEASED`` event): both name who released, from the API, the admin
or the command; a refused release records neither."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from couponsite.models import AuditEntry
from draws.claim.tests.claim_helpers import claim_campaign, first_type
from draws.pool import Release
from vouchers.models import VoucherEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _recorded() -> tuple[AuditEntry, VoucherEvent]:
    return (
        AuditEntry.objects.get(action="release.created"),
        VoucherEvent.objects.get(kind=VoucherEvent.Kind.RELEASED),
    )


def _boss(client):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(boss)
    return boss


def test_a_release_through_the_api_names_the_staff_member(staff_client):
    coupon_type = first_type(claim_campaign())

    response = staff_client.post(
        "/api/v1/campaigns/drop/releases",
        {"coupon_type": coupon_type.pk, "count": 40, "note": "monday"},
        format="json",
    )

    assert response.status_code == 201
    release = Release.objects.get()
    entry, event = _recorded()
    assert release.released_by == staff_client.user
    assert (entry.acting_user, entry.target, entry.reason) == (
        staff_client.user,
        release,
        "monday",
    )
    assert entry.changes["count"] == [None, 40]
    assert entry.changes["coupon_type"] == [None, coupon_type.pk]
    assert (event.actor, event.data["count"]) == (staff_client.user, 40)


@pytest.mark.parametrize("count", [0, 100_001])
def test_a_refused_release_records_nothing(staff_client, count):
    coupon_type = first_type(claim_campaign())

    response = staff_client.post(
        "/api/v1/campaigns/drop/releases",
        {"coupon_type": coupon_type.pk, "count": count},
        format="json",
    )

    assert response.status_code == 400
    assert not AuditEntry.objects.filter(action="release.created").exists()
    assert not VoucherEvent.objects.exists()


def test_a_release_into_a_draw_is_refused_and_records_nothing(staff_client):
    campaign = claim_campaign()
    campaign.kind = "draw"
    campaign.save()

    response = staff_client.post(
        "/api/v1/campaigns/drop/releases",
        {"coupon_type": first_type(campaign).pk, "count": 5},
        format="json",
    )

    assert response.status_code == 409
    assert not AuditEntry.objects.filter(action="release.created").exists()


def test_a_release_from_the_admin_form_and_again_names_the_employee(client):
    boss = _boss(client)
    coupon_type = first_type(claim_campaign())

    added = client.post(
        "/admin/draws/release/add/",
        {"coupon_type": coupon_type.pk, "count": 5, "note": "first"},
    )
    again = client.post(
        "/admin/draws/release/",
        {"action": "release_again", "_selected_action": [Release.objects.get().pk]},
    )

    assert (added.status_code, again.status_code) == (302, 302)
    entries = AuditEntry.objects.filter(action="release.created").order_by("id")
    assert [(e.acting_user, e.reason) for e in entries] == [
        (boss, "first"),
        (boss, "first"),
    ]
    assert [e.target for e in entries] == list(Release.objects.order_by("id"))


def test_the_command_names_the_user_given_with_by_and_no_one_without(staff_user):
    campaign = claim_campaign()
    options = {
        "campaign": campaign.slug,
        "coupon_type": first_type(campaign).name,
        "count": 3,
        "no_progress": True,
        "stdout": io.StringIO(),
        "stderr": io.StringIO(),
    }

    call_command("release_coupons", by=staff_user.username, **options)
    call_command("release_coupons", **options)
    with pytest.raises(CommandError):
        call_command("release_coupons", **{**options, "count": 0})

    entries = AuditEntry.objects.filter(action="release.created").order_by("id")
    assert [e.acting_user for e in entries] == [staff_user, None]
    assert [r.released_by for r in Release.objects.order_by("id")] == [
        staff_user,
        None,
    ]
