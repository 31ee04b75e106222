"""Operators' commands for claim and hold: release_coupons, release_expired_holds, seed_demo."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import Campaign
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, first_type, make_customers
from draws.pool import Release
from vouchers.models import Voucher, VoucherEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_release_coupons_in_chunks_with_a_progress_bar(staff_user):
    campaign = claim_campaign()
    coupon_type = first_type(campaign)

    out, err = _run(
        "release_coupons",
        campaign=campaign.slug,
        coupon_type=coupon_type.name,
        count=2500,
        chunk_size=1000,
        by=staff_user.username,
        note="night batch",
    )

    release = Release.objects.get()
    assert (release.count, release.released_by, release.note) == (
        2500,
        staff_user,
        "night batch",
    )
    assert Voucher.objects.filter(release=release, status="available").count() == 2500
    assert "Released 2500 coupons" in out
    assert "2.50k/2.50k" in err  # tqdm's bar, on stderr


def test_release_coupons_takes_the_type_id_too():
    campaign = claim_campaign()

    _run(
        "release_coupons",
        campaign=campaign.slug,
        coupon_type=str(first_type(campaign).pk),
        count=3,
        no_progress=True,
    )

    assert Voucher.objects.count() == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"campaign": "nope"}, "No campaign"),
        ({"coupon_type": "Unknown"}, "No coupon type 'Unknown'"),
        ({"count": 0}, "INVALID_COUNT"),
        ({"by": "nobody"}, "No staff user"),
        ({"chunk_size": 0}, "--chunk-size"),
    ],
)
def test_release_coupons_explains_what_is_wrong(options, message):
    campaign = claim_campaign()
    defaults = {
        "campaign": campaign.slug,
        "coupon_type": first_type(campaign).name,
        "count": 5,
        "no_progress": True,
    }

    with pytest.raises(CommandError, match=message):
        _run("release_coupons", **{**defaults, **options})
    assert not Voucher.objects.exists()


def test_release_expired_holds_is_idempotent():
    campaign = claim_campaign(released=3)
    customers = make_customers(2)
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        for customer in customers:
            claim_take(campaign=campaign, customer=customer)

    with time_machine.travel(t0 + dt.timedelta(minutes=5), tick=False):
        first, _ = _run("release_expired_holds")
        events = VoucherEvent.objects.count()
        second, _ = _run("release_expired_holds")

    assert first.strip() == "Released 2 expired holds."
    assert second.strip() == "Released 0 expired holds."
    assert VoucherEvent.objects.count() == events
    assert VoucherEvent.objects.filter(kind="expired").count() == 2
    assert Voucher.objects.filter(status="available", owner=None).count() == 3


def test_seed_demo_adds_a_claim_campaign_with_a_released_batch_once():
    _run("seed_demo", admin_password="pw")
    out, _ = _run("seed_demo", admin_password="pw")

    campaign = Campaign.objects.get(kind=Campaign.Kind.CLAIM)
    assert campaign.is_running()
    assert Release.objects.filter(coupon_type__campaign=campaign).count() == 2
    assert Voucher.objects.filter(campaign=campaign, status="available").count() == 2000
    assert f"/api/v1/campaigns/{campaign.slug}" in out
