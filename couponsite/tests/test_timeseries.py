"""Buckets of a campaign's wall clock: local days and hours, DST changes, zeros."""

import datetime as dt
import zoneinfo

import pytest
from django.db.models import Count, Q
from django.utils import translation

from campaigns.tests.factories import CampaignFactory
from couponsite.timeseries import (
    Span,
    counted,
    day_of,
    days_between,
    hour_until,
    labels,
    round_ticks,
)
from draws.models import Draw
from draws.tests.factories import DrawFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=PARIS)


def draw_at(campaign, moment: dt.datetime, won: bool = False) -> Draw:
    draw = DrawFactory(campaign=campaign, day=moment.astimezone(PARIS).date())
    # won=True needs a voucher (a check constraint); a loss is enough for counting.
    Draw.objects.filter(pk=draw.pk).update(created_at=moment)
    return draw


def test_a_day_with_the_clocks_going_back_has_its_repeated_hour_once():
    # 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET, 25 real hours.
    span = day_of(paris(dt.date(2026, 10, 25), "12:00"), PARIS)

    names = labels(span)

    assert span.end - span.start == dt.timedelta(hours=25)
    assert names == [f"{hour:02d}:00" for hour in range(24)]


def test_a_day_with_the_clocks_going_forward_has_no_skipped_hour():
    # 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST, 23 real hours.
    span = day_of(paris(dt.date(2026, 3, 29), "12:00"), PARIS)

    names = labels(span)

    assert span.end - span.start == dt.timedelta(hours=23)
    assert "02:00" not in names and len(names) == 23


def test_the_last_hour_has_sixty_minutes_ending_with_the_running_one():
    now = dt.datetime(2026, 11, 30, 3, 12, 40, tzinfo=dt.UTC)

    names = labels(hour_until(now, PARIS))

    assert len(names) == 60
    assert (names[0], names[-1]) == ("03:13", "04:12")  # Paris is UTC+1 in November


def test_labels_fall_on_round_times():
    now = dt.datetime(2026, 11, 30, 3, 12, 40, tzinfo=dt.UTC)
    span = hour_until(now, PARIS)

    ticks = round_ticks(span, 5)

    assert [labels(span)[n] for n in ticks][:3] == ["03:15", "03:20", "03:25"]
    assert len(ticks) == 12


def test_a_campaigns_life_is_its_local_days():
    start = paris(dt.date(2026, 11, 1), "23:30")  # 22:30 UTC, the same local day
    end = paris(dt.date(2026, 11, 3), "00:10")  # 23:10 UTC on the 2nd

    names = labels(days_between(start, end, PARIS))

    assert names == ["01 Nov", "02 Nov", "03 Nov"]


def test_days_are_named_in_the_active_language():
    start = paris(dt.date(2026, 11, 1), "12:00")
    end = paris(dt.date(2026, 11, 2), "12:00")

    with translation.override("zh-hant"):
        names = labels(days_between(start, end, PARIS))

    assert names == ["11月1日", "11月2日"]


def test_a_span_wants_a_known_unit_and_aware_ends():
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="unit"):
        Span(start=now, end=now, unit="week", tz=PARIS)
    with pytest.raises(ValueError, match="aware"):
        Span(start=now.replace(tzinfo=None), end=now, unit="day", tz=PARIS)


@pytest.mark.django_db
def test_an_event_at_half_past_eleven_local_counts_on_its_local_day_and_hour():
    # given a draw at 23:30 in Paris (22:30 UTC) on the 24th, and one at 00:30 (23:30 UTC)
    campaign = CampaignFactory(timezone="Europe/Paris")
    draw_at(campaign, paris(dt.date(2026, 11, 24), "23:30"))
    draw_at(campaign, paris(dt.date(2026, 11, 25), "00:30"))
    draws = Draw.objects.filter(campaign=campaign)
    days = days_between(
        paris(dt.date(2026, 11, 23), "12:00"),
        paris(dt.date(2026, 11, 26), "12:00"),
        PARIS,
    )
    hours = day_of(paris(dt.date(2026, 11, 24), "12:00"), PARIS)

    # when
    per_day = counted(draws, "created_at", days)["count"]
    per_hour = counted(draws, "created_at", hours)["count"]

    # then each lands on the local day and hour, zeros around them
    assert dict(zip(labels(days), per_day, strict=True)) == {
        "23 Nov": 0,
        "24 Nov": 1,
        "25 Nov": 1,
        "26 Nov": 0,
    }
    assert per_hour == [0] * 23 + [1]


@pytest.mark.django_db
def test_both_halves_of_the_repeated_hour_count_in_its_one_bucket():
    campaign = CampaignFactory(timezone="Europe/Paris")
    day = dt.date(2026, 10, 25)
    draw_at(campaign, dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC))  # 02:30 CEST
    draw_at(campaign, dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC))  # 02:30 CET
    draw_at(campaign, dt.datetime(2026, 10, 25, 22, 59, tzinfo=dt.UTC))  # 23:59 CET
    span = day_of(paris(day, "12:00"), PARIS)

    per_hour = dict(
        zip(
            labels(span),
            counted(Draw.objects.all(), "created_at", span)["count"],
            strict=True,
        )
    )

    assert per_hour["02:00"] == 2 and per_hour["23:00"] == 1
    assert sum(per_hour.values()) == 3


@pytest.mark.django_db
def test_counts_share_one_query_and_events_outside_the_span_are_left_out(
    django_assert_num_queries,
):
    campaign = CampaignFactory(timezone="Europe/Paris")
    now = dt.datetime(2026, 11, 30, 10, 0, 30, tzinfo=dt.UTC)
    draw_at(campaign, now - dt.timedelta(minutes=5))
    draw_at(campaign, now - dt.timedelta(minutes=61))  # before the last hour
    span = hour_until(now, PARIS)

    with django_assert_num_queries(1):
        counts = counted(
            Draw.objects.filter(campaign=campaign),
            "created_at",
            span,
            draws=Count("pk"),
            wins=Count("pk", filter=Q(won=True)),
        )

    assert len(counts["draws"]) == 60 and sum(counts["draws"]) == 1
    assert counts["draws"][-6] == 1  # five minutes before the running minute
    assert counts["wins"] == [0] * 60
