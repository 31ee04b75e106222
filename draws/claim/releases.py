"""Releases (seed 002): employees put batches of coupons into a claim campaign's pool.

Codes are generated in bulk and inserted one chunk per statement; the claim
room hears of each release after commit, so its "sold out" flag and id range
guess are voided (``draws.claim.services``).
"""

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from couponsite.audit import audit_record, changes_between, field_values
from couponsite.codes import generate_codes
from couponsite.errors import DomainError
from draws.claim.services import pool_changed
from draws.opening import require_kind
from draws.pool import Release
from vouchers.models import Voucher, VoucherEvent
from vouchers.services import with_unique_codes

# Rows per INSERT when releasing: 10,000 coupons are one statement.
RELEASE_CHUNK_SIZE = 10_000


class InvalidReleaseCount(DomainError):
    code = "INVALID_COUNT"
    detail = _("A release needs a count of at least one coupon.")


def batch_release(
    *,
    coupon_type: CouponType,
    count: int,
    acting_user: AbstractBaseUser | None,
    note: str = "",
    now: dt.datetime | None = None,
    chunk_size: int = RELEASE_CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> Release:
    """Put ``count`` new coupons of ``coupon_type`` into its claim campaign's pool.

    All or nothing, in one transaction: the ``Release`` row (who, what, when),
    the coupons (``available``, with fresh codes and a copy of the type's
    benefit) inserted ``chunk_size`` rows per statement, one ``RELEASED``
    history event (the coupons' history) and one ``release.created`` audit row
    (the staff action). ``acting_user`` is None when a command released them
    without ``--by``. A code collision redraws that chunk only. ``progress`` is
    called with the number of coupons of each chunk written. After commit the
    campaign's "sold out" flag is voided.
    """
    if count < 1:
        raise InvalidReleaseCount()
    campaign = coupon_type.campaign
    require_kind(
        campaign,
        Campaign.Kind.CLAIM,
        "Coupons are released into claim campaigns only.",
    )
    now = now or timezone.now()
    with transaction.atomic():
        release = Release.objects.create(
            coupon_type=coupon_type,
            count=count,
            released_by=acting_user,
            note=note,
            created_at=now,
        )
        left = count
        while left:
            size = min(chunk_size, left)
            _release_chunk(coupon_type=coupon_type, release=release, size=size, now=now)
            left -= size
            if progress is not None:
                progress(size)
        VoucherEvent.objects.create(
            kind=VoucherEvent.Kind.RELEASED,
            campaign=campaign,
            actor=acting_user,
            data={
                "release": release.pk,
                "coupon_type": coupon_type.pk,
                "count": count,
            },
            reason=note,
            created_at=now,
        )
        audit_record(
            acting_user=acting_user,
            action="release.created",
            target=release,
            reason=note,
            changes=changes_between({}, field_values(release)),
        )
        transaction.on_commit(lambda: pool_changed(campaign.pk, coupon_type.pk))
    return release


def _release_chunk(
    *, coupon_type: CouponType, release: Release, size: int, now: dt.datetime
) -> None:
    benefit = coupon_type.benefit_fields()

    def insert() -> None:
        Voucher.objects.bulk_create(
            [
                Voucher(
                    code=code,
                    status=Voucher.Status.AVAILABLE,
                    campaign_id=coupon_type.campaign_id,
                    coupon_type=coupon_type,
                    release=release,
                    expires_at=coupon_type.valid_until,
                    created_at=now,
                    **benefit,
                )
                for code in generate_codes(
                    size, length=coupon_type.code_length, prefix=coupon_type.code_prefix
                )
            ],
            batch_size=size,
        )

    with_unique_codes(insert)
