"""The daily figures at each campaign's local midnight (``campaigns.tasks``):
the every-minute job opens each campaign's day once, by the first run after
its own midnight, whoever else runs it too."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from campaigns import tasks
from campaigns.models import CouponType
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.models import JobRun
from couponsite.testing import race
from couponsite.testing.tasks import run_queued_tasks

pytestmark = [pytest.mark.postgres]

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")  # UTC+9
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")  # UTC-4 in June
DAY = dt.date(2026, 6, 10)


def _local(zone, day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=zone)


def _campaign(zone: str, *, issued_today: int = 5) -> CouponType:
    campaign = CampaignFactory(
        timezone=zone,
        starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ends_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    return CouponTypeFactory(
        campaign=campaign,
        issued_today=issued_today,
        quota_day=DAY - dt.timedelta(days=1),
    )


def _counter(prize: CouponType) -> tuple[int, dt.date]:
    prize.refresh_from_db()
    return prize.issued_today, prize.quota_day


def _run_at(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        result = tasks.open_local_days.enqueue()
        assert run_queued_tasks() == 1
    return tasks.open_local_days.get_result(result.id).return_value


@pytest.mark.django_db
def test_each_campaign_opens_its_day_once_at_its_own_local_midnight():
    tokyo, new_york = _campaign("Asia/Tokyo"), _campaign("America/New_York")
    yesterday = DAY - dt.timedelta(days=1)

    # Just before Tokyo's midnight (10:59:30 in New York): both are on the day
    # before, which the counters already show; each day is marked done.
    assert _run_at(_local(TOKYO, yesterday, "23:59:30")) == 2
    assert _counter(tokyo) == (5, yesterday)
    assert _counter(new_york) == (5, yesterday)

    # Tokyo's midnight: Tokyo's day opens (New York's is still the 9th).
    assert _run_at(_local(TOKYO, DAY, "00:00:20")) == 1
    assert _counter(tokyo) == (0, DAY)
    assert _counter(new_york) == (5, yesterday)

    # A win in Tokyo after midnight; the next minute's run leaves it alone.
    CouponType.objects.filter(pk=tokyo.pk).update(issued_today=1)
    assert _run_at(_local(TOKYO, DAY, "00:01:00")) == 0
    assert _counter(tokyo) == (1, DAY)

    # New York's midnight, 13 hours later: New York's day opens, Tokyo's stays.
    assert _run_at(_local(NEW_YORK, DAY, "00:00:05")) == 1
    assert _counter(new_york) == (0, DAY)
    assert _counter(tokyo) == (1, DAY)
    assert _run_at(_local(NEW_YORK, DAY, "00:01:05")) == 0

    assert sorted(JobRun.objects.values_list("key", flat=True)) == sorted(
        f"{prize.campaign_id}:{day}"
        for prize in (tokyo, new_york)
        for day in (yesterday, DAY)
    )


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_open_each_campaigns_day_once():
    prizes = [_campaign(zone) for zone in ("Asia/Tokyo", "Europe/Paris", "UTC")]

    with time_machine.travel(_local(TOKYO, DAY, "12:00:00"), tick=False):
        opened = race(lambda _: tasks.open_local_days.call(), 2)

    assert sum(opened) == 3
    assert JobRun.objects.filter(job="campaign_local_day").count() == 3
    assert {_counter(prize) for prize in prizes} == {(0, DAY)}
