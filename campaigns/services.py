"""Every write about campaigns, coupon types and their quotas."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from campaigns.quotas import quota_spread, quotas_open_day
from campaigns.selectors import campaign_odds
from couponsite.audit import (
    Changes,
    audit_record,
    changes_between,
    changes_split,
    field_values,
    stored_values,
)
from couponsite.background.once import DONE_ALREADY, job_keys_done, job_run_once
from couponsite.errors import DomainError


class CampaignStatusUnchanged(DomainError):
    code = "STATUS_UNCHANGED"
    detail = _("The campaign already has this status.")


# Edits are recorded under the action naming what they change; any other field
# changed goes under "<noun>.changed".
CAMPAIGN_CHANGE_ACTIONS = {"campaign.status_changed": {"status"}}
COUPON_TYPE_CHANGE_ACTIONS = {
    "coupon_type.odds_changed": {"probability"},
    "coupon_type.quotas_changed": {"total_quota", "daily_quota", "quota_shards"},
}
# The fields that lay out a type's quota counters (``campaigns.quotas.quota_spread``).
QUOTA_FIELDS = {"total_quota", "daily_quota", "quota_shards"}


def _unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "campaign"
    slug, n = base, 1
    while Campaign.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def campaign_create(
    *, acting_user: AbstractBaseUser | None, coupon_types: list[dict], **fields
) -> Campaign:
    """A campaign with its coupon types, in one transaction (seed 000's POST /campaign).

    Callers validate the fields (serializer or admin form); the database
    constraints stand behind them. ``acting_user`` is recorded as its creator
    and in the audit log: ``campaign.created`` and one ``coupon_type.created``
    per type, each with the fields set.
    """
    with transaction.atomic():
        if not fields.get("slug"):
            fields["slug"] = _unique_slug(fields["name"])
        campaign = Campaign.objects.create(created_by=acting_user, **fields)
        created_types = CouponType.objects.bulk_create(
            CouponType(campaign=campaign, **type_fields) for type_fields in coupon_types
        )
        _record_creation(acting_user, "campaign.created", campaign)
        for coupon_type in created_types:
            if coupon_type.quota_shards > 1:
                quota_spread(coupon_type=coupon_type)
            _record_creation(acting_user, "coupon_type.created", coupon_type)
    return campaign


def campaign_update(
    *, campaign: Campaign, acting_user: AbstractBaseUser | None
) -> Campaign:
    """Save ``campaign`` as edited in memory (the admin's form) and record what
    changed, old and new: its status as ``campaign.status_changed``, any other
    field as ``campaign.changed``. The row is locked while its old values are
    read, so the ones recorded are the ones this save replaces. Only changed
    fields are written; an edit that changes nothing writes and records nothing.
    """
    with transaction.atomic():
        changes = changes_between(stored_values(campaign), field_values(campaign))
        if changes:
            campaign.save(update_fields=[*changes, "updated_at"])
            _record_changes(
                acting_user=acting_user,
                target=campaign,
                changes=changes,
                actions=CAMPAIGN_CHANGE_ACTIONS,
                rest="campaign.changed",
            )
    return campaign


def campaign_status_set(
    *,
    campaign: Campaign,
    status: Campaign.Status,
    acting_user: AbstractBaseUser | None,
    reason: str,
) -> Campaign:
    """Open, pause or end a campaign, recorded with who and why
    (``campaign.status_changed``).

    The row is locked while its status is read and set, so two staff setting
    it at once are recorded in turn, each with the status it replaced. Setting
    the status it already has is refused (``STATUS_UNCHANGED``) and records
    nothing. Saved, so the cached campaign drops.
    """
    with transaction.atomic():
        old = (
            Campaign.objects.select_for_update()
            .values_list("status", flat=True)
            .get(pk=campaign.pk)
        )
        if old == status:
            raise CampaignStatusUnchanged()
        campaign.status = status
        campaign.save(update_fields=["status", "updated_at"])
        audit_record(
            acting_user=acting_user,
            action="campaign.status_changed",
            target=campaign,
            reason=reason,
            changes={"status": [old, status]},
        )
    return campaign


def campaign_delete(
    *, campaign: Campaign, acting_user: AbstractBaseUser | None
) -> None:
    """Delete a campaign nothing refers to yet (its draws, claims and coupons
    protect it) with its coupon types, recorded as ``campaign.deleted`` with the
    values it had."""
    with transaction.atomic():
        audit_record(
            acting_user=acting_user,
            action="campaign.deleted",
            target=campaign,
            changes=changes_between(field_values(campaign), {}),
        )
        campaign.delete()


def coupon_type_save(
    *, coupon_type: CouponType, acting_user: AbstractBaseUser | None
) -> CouponType:
    """Save a coupon type added or edited in memory (the admin's campaign page),
    recorded in the audit log: a new one as ``coupon_type.created``; for an
    edit, its odds as ``coupon_type.odds_changed``, its quotas as
    ``coupon_type.quotas_changed``, any other field as ``coupon_type.changed``.

    Only the changed fields are written: the quota counters on the row move
    with every win (``quota_take``) and must never be written back from the
    copy the form read. A change of the quotas or of ``quota_shards`` lays the
    counters out again first (``quota_spread``, under the row locks;
    ``QUOTA_BELOW_ISSUED`` for a quota below what was issued).
    """
    with transaction.atomic():
        if coupon_type._state.adding:
            coupon_type.save()
            if coupon_type.quota_shards > 1:
                quota_spread(coupon_type=coupon_type)
            _record_creation(acting_user, "coupon_type.created", coupon_type)
            return coupon_type
        changes = changes_between(stored_values(coupon_type), field_values(coupon_type))
        if changes.keys() & QUOTA_FIELDS:
            quota_spread(coupon_type=coupon_type)
        if changes:
            coupon_type.save(update_fields=list(changes))
            _record_changes(
                acting_user=acting_user,
                target=coupon_type,
                changes=changes,
                actions=COUPON_TYPE_CHANGE_ACTIONS,
                rest="coupon_type.changed",
            )
    return coupon_type


def coupon_type_delete(
    *, coupon_type: CouponType, acting_user: AbstractBaseUser | None
) -> None:
    """Delete a coupon type (none of its coupons exist: they protect it), recorded
    as ``coupon_type.deleted`` with the values it had."""
    with transaction.atomic():
        audit_record(
            acting_user=acting_user,
            action="coupon_type.deleted",
            target=coupon_type,
            changes=changes_between(field_values(coupon_type), {}),
        )
        coupon_type.delete()


def _record_creation(
    acting_user: AbstractBaseUser | None, action: str, obj: models.Model
) -> None:
    audit_record(
        acting_user=acting_user,
        action=action,
        target=obj,
        changes=changes_between({}, field_values(obj)),
    )


def _record_changes(
    *,
    acting_user: AbstractBaseUser | None,
    target: models.Model,
    changes: Changes,
    actions: dict[str, set[str]],
    rest: str,
) -> None:
    for action, part in changes_split(changes, actions, rest).items():
        audit_record(
            acting_user=acting_user, action=action, target=target, changes=part
        )


# --- Each campaign's local day ------------------------------------------------------

LOCAL_DAY_JOB = "campaign_local_day"


@dataclass(frozen=True)
class DayOpened:
    campaign: Campaign
    day: dt.date
    opened: int  # coupon type counters rolled over


def campaign_day_open(*, campaign: Campaign, day: dt.date) -> int:
    """Open ``day``'s figures of ``campaign``: its daily counters roll over
    (``quotas_open_day``) and a draw's odds are cached again. Idempotent."""
    opened = quotas_open_day(campaign=campaign, day=day)
    if campaign.kind == Campaign.Kind.DRAW:
        campaign_odds(campaign)
    return opened


def campaigns_open_local_days(
    *, now: dt.datetime | None = None, once: bool = False
) -> list[DayOpened]:
    """Open today's figures, in its own time zone, of every running campaign.

    ``manage.py reset_daily_quotas`` does them all (``once=False``); the
    schedule runs every minute with ``once=True``: each campaign's local day is
    done once, by the first run after its local midnight (a ``JobRun`` mark
    keyed on campaign and day, inserted with the work), whoever else runs too.
    """
    now = now or timezone.now()
    days = {
        campaign: campaign.local_day(now) for campaign in Campaign.objects.active(now)
    }
    keys = {
        campaign: f"{campaign.pk}:{day.isoformat()}" for campaign, day in days.items()
    }
    done = job_keys_done(job=LOCAL_DAY_JOB, keys=keys.values()) if once else set()
    opened = []
    for campaign, day in days.items():
        if keys[campaign] in done:
            continue

        def work(campaign=campaign, day=day) -> int:
            return campaign_day_open(campaign=campaign, day=day)

        if once:
            count = job_run_once(job=LOCAL_DAY_JOB, key=keys[campaign], work=work)
            if count is DONE_ALREADY:
                continue
        else:
            count = work()
        opened.append(DayOpened(campaign, day, count))
    return opened
