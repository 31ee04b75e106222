"""Scheduled releases (issue 13): each schedule releases once per local day at its
local time, across clock changes, downtime, repeated calls and racing workers;
employees set them in the admin and read them on the claim dashboard."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.models import AuditEntry
from couponsite.testing import race
from couponsite.testing.admin import staff_client
from couponsite.testing.tasks import run_queued_tasks
from draws.claim.models import ReleaseSchedule, ReleaseScheduleRun
from draws.claim.scheduled_releases import local_due_at, run_due_releases
from draws.claim.scheduled_releases_tasks import release_on_schedule
from draws.claim.tests.claim_helpers import claim_campaign, first_type
from draws.pool import Release
from vouchers.models import Voucher, VoucherEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC
LONG_AGO = dt.datetime(2026, 1, 1, tzinfo=UTC)
# Europe/Berlin's clock changes in 2027: 02:00 CET -> 03:00 CEST on 28 March,
# 03:00 CEST -> 02:00 CET on 31 October.
SPRING_FORWARD = dt.date(2027, 3, 28)
FALL_BACK = dt.date(2027, 10, 31)


def _utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _berlin_campaign(**kwargs):
    return claim_campaign(
        tz="Europe/Berlin",
        starts_at=LONG_AGO,
        ends_at=_utc(2030, 1, 1),
        **kwargs,
    )


def _schedule(campaign, at: dt.time, **fields) -> ReleaseSchedule:
    return ReleaseSchedule.objects.create(
        **{
            "campaign": campaign,
            "coupon_type": first_type(campaign),
            "count": 3,
            "at": at,
            "starts_on": dt.date(2026, 1, 1),
            "created_at": LONG_AGO,
            **fields,
        }
    )


def _runs_at(*instants: dt.datetime) -> list[int]:
    """How many runs each call at each instant made (Python's clock travels too)."""
    made = []
    for instant in instants:
        with time_machine.travel(instant, tick=False):
            made.append(len(run_due_releases()))
    return made


# --- When a day's time comes --------------------------------------------------------


def test_a_local_time_is_read_on_the_campaigns_wall_clock():
    normal = local_due_at(dt.date(2027, 6, 15), dt.time(8, 0), BERLIN)
    skipped = local_due_at(SPRING_FORWARD, dt.time(2, 30), BERLIN)
    repeated = local_due_at(FALL_BACK, dt.time(2, 30), BERLIN)

    assert normal == _utc(2027, 6, 15, 6, 0)  # CEST, +02:00
    # 02:30 never shows on 28 March: the first instant after the jump, 03:00 CEST.
    assert skipped == _utc(2027, 3, 28, 1, 0)
    assert skipped.astimezone(BERLIN).time() == dt.time(3, 0)
    # 02:30 shows twice on 31 October: the first time, still CEST.
    assert repeated == _utc(2027, 10, 31, 0, 30)


def test_a_normal_day_releases_at_the_local_time_and_records_it_like_a_manual_release():
    campaign = _berlin_campaign()
    schedule = _schedule(campaign, dt.time(8, 0), note="daily drop")

    # 07:59 and 08:00 CEST; then later calls the same day
    made = _runs_at(
        _utc(2027, 6, 15, 5, 59),
        _utc(2027, 6, 15, 6, 0),
        _utc(2027, 6, 15, 6, 1),
        _utc(2027, 6, 15, 21, 59),
    )

    assert made == [0, 1, 0, 0]
    run = ReleaseScheduleRun.objects.get()
    release = run.release
    assert (run.schedule, run.local_day, run.due_at) == (
        schedule,
        dt.date(2027, 6, 15),
        _utc(2027, 6, 15, 6, 0),
    )
    assert (release.count, release.released_by) == (3, None)
    assert release.note == f"scheduled (schedule {schedule.pk}, 2027-06-15): daily drop"
    assert Voucher.objects.filter(release=release, status="available").count() == 3
    entry = AuditEntry.objects.get(action="release.created")
    event = VoucherEvent.objects.get(kind=VoucherEvent.Kind.RELEASED)
    assert (entry.acting_user, entry.target, entry.reason) == (
        None,
        release,
        release.note,
    )
    assert (event.actor, event.reason, event.data["count"]) == (None, release.note, 3)


def test_a_time_the_spring_clock_change_skips_releases_right_after_the_jump():
    campaign = _berlin_campaign()
    _schedule(campaign, dt.time(2, 30))

    made = _runs_at(
        _utc(2027, 3, 28, 0, 59, 59),  # 01:59:59 CET
        _utc(2027, 3, 28, 1, 0),  # 03:00 CEST: the clock jumped past 02:30
        _utc(2027, 3, 28, 1, 30),  # 03:30 CEST
    )

    assert made == [0, 1, 0]
    assert ReleaseScheduleRun.objects.get().local_day == SPRING_FORWARD


def test_a_time_the_autumn_clock_change_repeats_releases_once():
    campaign = _berlin_campaign()
    _schedule(campaign, dt.time(2, 30))

    made = _runs_at(
        _utc(2027, 10, 31, 0, 29),  # 02:29 CEST
        _utc(2027, 10, 31, 0, 30),  # 02:30 CEST, the first 02:30
        _utc(2027, 10, 31, 1, 29),  # 02:29 CET, the clock turned back
        _utc(2027, 10, 31, 1, 30),  # 02:30 CET, the second 02:30
        _utc(2027, 10, 31, 2, 0),
    )

    assert made == [0, 1, 0, 0, 0]
    assert Release.objects.count() == 1


def test_after_downtime_todays_release_catches_up_once_and_a_missed_day_never():
    campaign = _berlin_campaign()
    _schedule(campaign, dt.time(8, 0))

    # no call at all on 14 June (the server was down all day); on 15 June it is
    # back at 11:00 CEST, three hours after the time
    made = _runs_at(
        _utc(2027, 6, 15, 9, 0),
        _utc(2027, 6, 15, 9, 1),
        _utc(2027, 6, 16, 5, 0),  # 07:00 next day: not yet
    )

    assert made == [1, 0, 0]
    run = ReleaseScheduleRun.objects.get()
    assert (run.local_day, run.due_at, run.ran_at) == (
        dt.date(2027, 6, 15),
        _utc(2027, 6, 15, 6, 0),
        _utc(2027, 6, 15, 9, 0),
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"starts_on": dt.date(2027, 6, 16)},
        {"ends_on": dt.date(2027, 6, 14)},
        {"active": False},
        {"created_at": _utc(2027, 6, 15, 7, 0)},  # saved after today's 08:00
    ],
    ids=["before-its-first-day", "after-its-last-day", "inactive", "saved-after"],
)
def test_no_release_outside_its_days_when_inactive_or_saved_after_the_time(fields):
    campaign = _berlin_campaign()
    _schedule(campaign, dt.time(8, 0), **fields)

    assert _runs_at(_utc(2027, 6, 15, 6, 0), _utc(2027, 6, 15, 20, 0)) == [0, 0]
    assert not Release.objects.exists()


def test_its_first_and_last_days_release_and_a_schedule_saved_late_starts_tomorrow():
    campaign = _berlin_campaign()
    _schedule(
        campaign,
        dt.time(8, 0),
        starts_on=dt.date(2027, 6, 15),
        ends_on=dt.date(2027, 6, 16),
        created_at=_utc(2027, 6, 15, 7, 0),  # 09:00 CEST, after the first day's time
    )

    made = _runs_at(
        _utc(2027, 6, 15, 8, 0),
        _utc(2027, 6, 16, 6, 0),
        _utc(2027, 6, 17, 6, 0),
    )

    assert made == [0, 1, 0]


@pytest.mark.parametrize("status", ["paused", "ended"])
def test_no_release_into_a_paused_or_ended_campaign(status):
    campaign = _berlin_campaign()
    campaign.status = status
    campaign.save(update_fields=["status"])
    _schedule(campaign, dt.time(8, 0))

    assert _runs_at(_utc(2027, 6, 15, 7, 0)) == [0]


def test_no_release_after_the_campaign_ends():
    campaign = claim_campaign(
        tz="Europe/Berlin", starts_at=LONG_AGO, ends_at=_utc(2027, 6, 15, 5, 0)
    )
    _schedule(campaign, dt.time(8, 0))

    assert _runs_at(_utc(2027, 6, 15, 7, 0)) == [0]


def test_racing_schedulers_release_once_per_local_day():
    campaign = _berlin_campaign()
    schedule = _schedule(campaign, dt.time(8, 0), count=500)
    now = _utc(2027, 6, 15, 6, 0, 30)

    # given 12 workers calling at the same instant, each on its own connection
    made = race(lambda _: len(run_due_releases(now=now)), 12)

    assert sum(made) == 1
    assert ReleaseScheduleRun.objects.filter(schedule=schedule).count() == 1
    assert Release.objects.count() == 1
    assert Voucher.objects.count() == 500
    # and a second wave later that day changes nothing
    assert sum(race(lambda _: len(run_due_releases(now=now)), 6)) == 0
    assert Voucher.objects.count() == 500


def test_the_database_refuses_a_second_run_of_a_schedule_on_one_local_day():
    """What settles two schedulers that both passed the checks: the unique
    (schedule, local_day), in the release's transaction."""
    campaign = _berlin_campaign()
    schedule = _schedule(campaign, dt.time(8, 0))
    now = _utc(2027, 6, 15, 7, 0)
    (run,) = run_due_releases(now=now)
    other = Release.objects.create(coupon_type=schedule.coupon_type, count=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReleaseScheduleRun.objects.create(
            schedule=schedule, local_day=run.local_day, release=other, due_at=now
        )

    assert ReleaseScheduleRun.objects.get() == run


def test_the_cron_task_runs_the_schedules_through_the_real_worker():
    campaign = claim_campaign(tz="UTC", starts_at=LONG_AGO)
    schedule = _schedule(campaign, dt.time(0, 0))  # due since today's midnight

    release_on_schedule.enqueue()
    ran = run_queued_tasks()

    assert ran == 1
    run = ReleaseScheduleRun.objects.get()
    assert run.schedule == schedule
    assert Voucher.objects.filter(release=run.release).count() == 3
    # the next minute's job finds nothing to do
    release_on_schedule.enqueue()
    assert run_queued_tasks() == 1
    assert ReleaseScheduleRun.objects.count() == 1


# --- The admin -----------------------------------------------------------------------


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    client.user = user
    return client


def _form(for_campaign, of_type, **fields) -> dict:
    return {
        "campaign": for_campaign.pk,
        "coupon_type": of_type.pk,
        "count": 10_000,
        "at": "08:00",
        "starts_on": "2027-06-15",
        "ends_on": "2027-07-15",
        "active": "on",
        "note": "morning drop",
        "runs-TOTAL_FORMS": 0,
        "runs-INITIAL_FORMS": 0,
        **fields,
    }


def test_an_employee_sets_a_schedule_and_who_did_is_recorded(boss):
    campaign = claim_campaign()
    coupon_type = first_type(campaign)

    page = boss.get(f"/admin/draws/releaseschedule/add/?campaign={campaign.pk}")
    response = boss.post(
        "/admin/draws/releaseschedule/add/", _form(campaign, coupon_type)
    )

    assert page.status_code == 200
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule = ReleaseSchedule.objects.get()
    assert (schedule.count, schedule.at, schedule.created_by) == (
        10_000,
        dt.time(8, 0),
        boss.user,
    )
    created = AuditEntry.objects.get(action="release_schedule.created")
    assert (created.acting_user, created.changes["count"]) == (
        boss.user,
        [None, 10_000],
    )

    # when the count is changed
    response = boss.post(
        f"/admin/draws/releaseschedule/{schedule.pk}/change/",
        _form(campaign, coupon_type, count=12_000),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    changed = AuditEntry.objects.get(action="release_schedule.changed")
    assert changed.changes == {"count": [10_000, 12_000]}
    assert (
        boss.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").status_code == 200
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"count": 0}, "count", "greater than or equal to 1"),
        ({"count": 100_001}, "count", "less than or equal to 100000"),
        ({"ends_on": "2027-06-14"}, "ends_on", "The last day cannot be before"),
        ({"at": "25:00"}, "at", "Enter a valid time"),
        ("other-campaigns-type", "coupon_type", "not one of the campaign"),
        ("draw-campaign", "campaign", "Select a valid choice"),
    ],
)
def test_the_schedule_form_refuses_what_cannot_run(boss, fields, field, message):
    campaign = claim_campaign()
    coupon_type = first_type(campaign)
    if fields == "other-campaigns-type":
        fields = {"coupon_type": first_type(claim_campaign(slug="other")).pk}
    elif fields == "draw-campaign":
        draw_type = CouponTypeFactory(campaign=CampaignFactory(kind="draw"))
        fields = {"campaign": draw_type.campaign.pk, "coupon_type": draw_type.pk}

    response = boss.post(
        "/admin/draws/releaseschedule/add/", _form(campaign, coupon_type, **fields)
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not ReleaseSchedule.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="release_schedule").exists()


def test_the_release_permission_guards_schedules():
    campaign = claim_campaign()
    data = _form(campaign, first_type(campaign))
    reader = staff_client("draws.view_release", username="reader")
    releaser = staff_client("draws.add_release", username="releaser")

    refused = reader.post("/admin/draws/releaseschedule/add/", data)
    listed = reader.get("/admin/draws/releaseschedule/")
    accepted = releaser.post("/admin/draws/releaseschedule/add/", data)

    assert (refused.status_code, listed.status_code) == (403, 200)
    assert accepted.status_code == 302
    assert ReleaseSchedule.objects.get().created_by == releaser.user


# --- The claim dashboard -------------------------------------------------------------


def test_the_dashboard_shows_the_schedules_and_their_runs_beside_manual_releases(boss):
    campaign = claim_campaign(tz="UTC", starts_at=LONG_AGO)
    schedule = _schedule(campaign, dt.time(0, 0), count=7)
    later = _schedule(
        campaign, dt.time(23, 59, 0), count=5, ends_on=dt.date(2099, 1, 1)
    )
    run_due_releases()
    boss.post(
        "/admin/draws/release/add/",
        {"coupon_type": first_type(campaign).pk, "count": 2, "note": "by hand"},
    )

    html = boss.get(
        f"/admin/campaigns/campaign/{campaign.pk}/dashboard/"
    ).content.decode()

    # the scheduled release, by its schedule, beside the one made by hand
    assert f"<td>7</td><td>schedule {schedule.pk}</td>" in html
    assert "<td>2</td><td>boss</td><td>by hand</td>" in html
    assert 'class="dashboard-scheduled"' in html
    # both schedules, with what they release and when next
    assert f'data-schedule="{schedule.pk}"' in html
    assert f'data-schedule="{later.pk}"' in html
    assert "<td>released</td>" in html
    assert "<td>2099-01-01</td>" in html
    assert ":59</td>" in html  # the later one's next release, today at 23:59
