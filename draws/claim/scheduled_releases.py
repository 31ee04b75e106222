"""Scheduled releases (issue 13): a claim campaign's daily batch without the button.

A ``ReleaseSchedule`` says "N coupons of this type every local day at HH:MM";
``run_due_releases`` (called every minute by the schedule's task,
``draws.claim.scheduled_releases_tasks``) releases each schedule whose time has
come today and has no run today. The rules:

- **Local time.** HH:MM is on the campaign's wall clock. On a spring-forward
  day a time the clock skips (02:30 in Europe/Berlin on the last Sunday of
  March) is due at the first instant after the jump (03:00 local); on an
  autumn day a time that comes twice is due at its first coming, and the run
  row makes the second one a no-op.
- **Once per local day.** The run row (``ReleaseScheduleRun``, unique on
  schedule and local day) is written in the release's own transaction, under a
  lock on the schedule: a second caller, worker or scheduler finds the run (or
  the lock, and skips), and the unique constraint is the last word.
- **Catch-up, today only.** A server down at HH:MM releases when it is back,
  any time before the local midnight (once); a day that passed without a run
  is never released afterwards.
- **From the moment it is saved.** A schedule saved after today's HH:MM first
  releases tomorrow (no surprise batch on save).
- **Only into a live campaign.** Nothing is released into a campaign that has
  ended (its end passed, or ended by staff) or is paused; an upcoming one is
  filled ahead of its start, as a manual release may.

Each run is recorded like a manual release (``batch_release``): the
``Release`` row, the coupons' ``RELEASED`` event and the ``release.created``
audit row, with no user and a note starting "scheduled".
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Campaign, CouponType
from couponsite.errors import DomainError
from draws.claim.models import ReleaseSchedule, ReleaseScheduleRun
from draws.claim.releases import batch_release

logger = logging.getLogger(__name__)

SCHEDULED_NOTE = "scheduled"
_NOT_RELEASING = [Campaign.Status.ENDED, Campaign.Status.PAUSED]


def local_due_at(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The instant ``at`` comes on local ``day`` in ``tz`` (in UTC: an aware time
    in a repeated hour never equals one in another zone, PEP 495).

    A repeated wall time (autumn): its first coming. A skipped one (spring):
    the first instant after the jump, i.e. the first instant whose wall time is
    at or past ``at``.
    """
    wall = dt.datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0)
    if first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == wall:
        return first.astimezone(dt.UTC)
    # In a gap: fold=1 reads the wall time with the offset after the jump (an
    # instant before it), fold=0 with the offset before (an instant after it);
    # the jump lies between. Find, to the second, the first instant whose wall
    # time is not before ``wall``.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC)
    high = first.astimezone(dt.UTC)
    if low > high:
        low, high = high, low
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def schedule_due_on(schedule: ReleaseSchedule, day: dt.date) -> dt.datetime | None:
    """When ``schedule`` is due on local ``day``, or None when it has no run
    that day (outside its days, or that day's time came before it was saved)."""
    if day < schedule.starts_on or (schedule.ends_on and day > schedule.ends_on):
        return None
    due = local_due_at(day, schedule.at, schedule.campaign.tz)
    if due < schedule.created_at:
        return None
    return due


def schedule_next_run(
    schedule: ReleaseSchedule, *, now: dt.datetime, ran_today: bool
) -> dt.datetime | None:
    """The next instant the schedule releases (UTC; one already due and
    not yet run: that instant, in the past), or None if it never will again."""
    campaign = schedule.campaign
    if not schedule.active or campaign.status == Campaign.Status.ENDED:
        return None
    day = max(campaign.local_day(now), schedule.starts_on)
    for offset in range(2):  # today, else the day after (created after its time)
        candidate = day + dt.timedelta(days=offset)
        if offset == 0 and ran_today and candidate == campaign.local_day(now):
            continue
        if schedule.ends_on and candidate > schedule.ends_on:
            return None
        due = schedule_due_on(schedule, candidate)
        if due is not None:
            return due if due < campaign.ends_at else None
    return None


@dataclass(frozen=True)
class _Due:
    schedule: ReleaseSchedule
    day: dt.date
    due_at: dt.datetime


def due_schedules(now: dt.datetime) -> list[_Due]:
    """The active schedules of live claim campaigns whose time has come today
    (local) and that have not run today."""
    schedules = (
        ReleaseSchedule.objects.filter(
            active=True,
            campaign__kind=Campaign.Kind.CLAIM,
            campaign__ends_at__gt=now,
        )
        .exclude(campaign__status__in=_NOT_RELEASING)
        .select_related("campaign", "coupon_type")
    )
    due = []
    for schedule in schedules:
        day = schedule.campaign.local_day(now)
        due_at = schedule_due_on(schedule, day)
        if due_at is not None and due_at <= now:
            due.append(_Due(schedule, day, due_at))
    ran = set(
        ReleaseScheduleRun.objects.filter(
            schedule__in=[d.schedule for d in due],
            local_day__in={d.day for d in due},
        ).values_list("schedule_id", "local_day")
    )
    return [d for d in due if (d.schedule.pk, d.day) not in ran]


def run_due_releases(now: dt.datetime | None = None) -> list[ReleaseScheduleRun]:
    """Release every schedule that is due now (module docstring: the rules);
    the runs made. Safe to call any number of times, from any number of
    processes at once: each schedule runs at most once per local day."""
    now = now or timezone.now()
    runs = []
    for due in due_schedules(now):
        try:
            run = schedule_run(
                schedule=due.schedule, day=due.day, due_at=due.due_at, now=now
            )
        except DomainError as exc:
            logger.warning(
                "release schedule %s not run on %s: %s",
                due.schedule.pk,
                due.day,
                exc.detail,
            )
            continue
        if run is not None:
            runs.append(run)
    return runs


def schedule_run(
    *,
    schedule: ReleaseSchedule,
    day: dt.date,
    due_at: dt.datetime,
    now: dt.datetime,
) -> ReleaseScheduleRun | None:
    """Release ``schedule``'s batch for local ``day`` and record the run, in one
    transaction; None when another caller has it (locked now, or already ran).

    The schedule's row is locked (``SKIP LOCKED``: a caller finding it locked
    leaves it to the one holding it) and re-read, so a schedule paused or
    changed meanwhile is honoured; the run row's unique constraint settles the
    rest (the whole release rolls back on a duplicate).
    """
    try:
        with transaction.atomic():
            locked = (
                ReleaseSchedule.objects.select_for_update(skip_locked=True)
                .filter(pk=schedule.pk, active=True)
                .first()
            )
            if locked is None:
                return None
            if ReleaseScheduleRun.objects.filter(
                schedule=locked, local_day=day
            ).exists():
                return None
            coupon_type = CouponType.objects.select_related("campaign").get(
                pk=locked.coupon_type_id
            )
            release = batch_release(
                coupon_type=coupon_type,
                count=locked.count,
                acting_user=None,
                note=scheduled_note(locked, day),
                now=now,
            )
            return ReleaseScheduleRun.objects.create(
                schedule=locked,
                local_day=day,
                release=release,
                due_at=due_at,
                ran_at=now,
            )
    except IntegrityError:
        if ReleaseScheduleRun.objects.filter(schedule=schedule, local_day=day).exists():
            return None
        raise


def scheduled_note(schedule: ReleaseSchedule, day: dt.date) -> str:
    """The release's note (and audit reason): "scheduled", which schedule and
    day, and the schedule's own note."""
    note = f"{SCHEDULED_NOTE} (schedule {schedule.pk}, {day:%Y-%m-%d})"
    if schedule.note:
        note = f"{note}: {schedule.note}"
    return note[:200]
