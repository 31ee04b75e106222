"""Every write about campaigns, coupon types and their quotas."""

import datetime as dt

from django.db import connection, transaction
from django.db.models import Q
from django.utils.text import slugify

from campaigns.models import Campaign, CouponType


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "campaign"
    slug, n = base, 1
    while Campaign.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def campaign_create(*, coupon_types: list[dict], created_by=None, **fields) -> Campaign:
    """A campaign with its coupon types, in one transaction (seed 000's POST /campaign).

    Callers validate the fields (serializer or admin form); the database
    constraints stand behind them.
    """
    with transaction.atomic():
        if not fields.get("slug"):
            fields["slug"] = _unique_slug(fields["name"])
        campaign = Campaign.objects.create(created_by=created_by, **fields)
        CouponType.objects.bulk_create(
            CouponType(campaign=campaign, **type_fields) for type_fields in coupon_types
        )
    return campaign


_QUOTA_TAKE_SQL = """
    UPDATE {table}
       SET issued_total = issued_total + 1,
           issued_today = CASE WHEN quota_day = %(day)s THEN issued_today + 1 ELSE 1 END,
           quota_day = %(day)s
     WHERE id = %(id)s
       AND (total_quota IS NULL OR issued_total < total_quota)
       AND (daily_quota IS NULL
            OR (quota_day = %(day)s AND issued_today < daily_quota)
            OR ((quota_day IS NULL OR quota_day <> %(day)s) AND daily_quota > 0))
       AND (quota_day IS NULL OR quota_day <= %(day)s)
"""


def quota_take(*, coupon_type_id: int, day: dt.date) -> bool:
    """Take one unit of the type's total quota and of ``day``'s quota, or nothing.

    One conditional UPDATE: the row is locked for that statement's transaction,
    the predicate is re-checked after any wait, and the row count says whether
    a unit was taken. A row still on an earlier day rolls over to ``day`` (so
    the daily quota turns over at local midnight with no command); a row
    already on a later day is never rolled back by a request from before
    midnight. Written in SQL because it runs on every winning roll and the
    ORM's expression building cost more than the statement (bench: draw).
    """
    sql = _QUOTA_TAKE_SQL.format(
        table=connection.ops.quote_name(CouponType._meta.db_table)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"id": coupon_type_id, "day": day})
        return cursor.rowcount == 1


def quotas_open_day(*, campaign: Campaign, day: dt.date) -> int:
    """Roll the campaign's daily counters over to ``day`` (idempotent).

    Nothing depends on this running: ``quota_take`` rolls a counter over by
    itself on the day's first win. It only makes the figures read "0 issued
    today" from midnight on. Rows already on ``day`` or later are untouched.
    """
    return (
        CouponType.objects.filter(campaign=campaign)
        .filter(Q(quota_day__isnull=True) | Q(quota_day__lt=day))
        .update(issued_today=0, quota_day=day)
    )


def campaign_set_status(*, campaign: Campaign, status: str) -> Campaign:
    """Open, pause or end a campaign (saved, so caches drop it)."""
    campaign.status = status
    campaign.save(update_fields=["status", "updated_at"])
    return campaign
