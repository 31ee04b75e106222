"""Employees release batches and read the history in the admin."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from couponsite.codes import display_code
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, first_type, make_customers
from draws.pool import Release
from vouchers.models import Voucher, VoucherEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser(
        "boss", "boss@example.com", "pw-for-tests"
    )
    client.force_login(admin)
    client.user = admin
    return client


def test_releasing_10000_coupons_from_the_admin_form(admin_client):
    coupon_type = first_type(claim_campaign())

    form = admin_client.get("/admin/draws/release/add/")
    response = admin_client.post(
        "/admin/draws/release/add/",
        {"coupon_type": coupon_type.pk, "count": 10_000, "note": "daily batch"},
    )

    assert form.status_code == 200
    assert response.status_code == 302, response.content.decode()[:2000]
    release = Release.objects.get()
    assert (release.count, release.released_by, release.note) == (
        10_000,
        admin_client.user,
        "daily batch",
    )
    assert Voucher.objects.filter(release=release, status="available").count() == 10_000
    assert VoucherEvent.objects.get(kind="released").data["count"] == 10_000
    assert admin_client.get("/admin/draws/release/").status_code == 200
    assert (
        admin_client.get(f"/admin/draws/release/{release.pk}/change/").status_code
        == 200
    )


def test_the_admin_form_refuses_bad_counts_and_draw_types(admin_client):
    claim = claim_campaign()
    draw = claim_campaign(slug="lucky")
    draw.kind = "draw"
    draw.save()

    too_many = admin_client.post(
        "/admin/draws/release/add/",
        {"coupon_type": first_type(claim).pk, "count": 100_001},
    )
    none = admin_client.post(
        "/admin/draws/release/add/",
        {"coupon_type": first_type(claim).pk, "count": 0},
    )
    of_a_draw = admin_client.post(
        "/admin/draws/release/add/",
        {"coupon_type": first_type(draw).pk, "count": 5},
    )

    for response in (too_many, none, of_a_draw):
        assert response.status_code == 200  # the form again, with its errors
        assert response.context["adminform"].form.errors
    assert not Voucher.objects.exists()


def test_the_release_again_action(admin_client):
    coupon_type = first_type(claim_campaign(released=7))
    release = Release.objects.get()

    response = admin_client.post(
        "/admin/draws/release/",
        {"action": "release_again", "_selected_action": [release.pk]},
    )

    assert response.status_code == 302
    assert Release.objects.count() == 2
    assert Release.objects.order_by("-id").first().released_by == admin_client.user
    assert Voucher.objects.filter(coupon_type=coupon_type).count() == 14


def test_the_history_shows_a_hold_handed_on_and_filters_by_kind(admin_client):
    campaign = claim_campaign(released=1)
    holder, late = make_customers(2)
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        voucher = claim_take(campaign=campaign, customer=holder).voucher
    with time_machine.travel(t0 + dt.timedelta(minutes=5), tick=False):
        claim_take(campaign=campaign, customer=late)

    by_code = admin_client.get(
        "/admin/vouchers/voucherevent/", {"q": display_code(voucher.code).lower()}
    )
    claimed = admin_client.get(
        "/admin/vouchers/voucherevent/", {"kind__exact": "claimed"}
    )
    claims = admin_client.get(
        "/admin/draws/claim/", {"campaign__id__exact": campaign.pk}
    )

    assert by_code.status_code == 200
    kinds = [event.kind for event in by_code.context["cl"].result_list]
    assert kinds == ["claimed", "expired", "claimed"]  # newest first
    assert {e.kind for e in claimed.context["cl"].result_list} == {"claimed"}
    assert claims.status_code == 200
    assert len(claims.context["cl"].result_list) == 2
    assert admin_client.get("/admin/vouchers/voucherevent/add/").status_code == 403
