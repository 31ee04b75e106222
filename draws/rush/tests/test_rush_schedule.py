"""Rush windows: edges to the second in the campaign's zone, midnight, validation."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.utils import timezone

from campaigns.schedule import RushWindows
from draws.rush.services import rush_cycle_at
from draws.rush.tests.rush_support import DAY, ZONE, at, rush_campaign

TAIPEI = zoneinfo.ZoneInfo(ZONE)
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DEFAULTS = RushWindows(
    reservation_opens=dt.time(22, 55),
    reservation_closes=dt.time(22, 59, 59),
    rush_opens=dt.time(23, 0),
    rush_closes=dt.time(23, 0, 59),
)


def _windows(*clocks: str) -> RushWindows:
    return RushWindows(*(dt.time.fromisoformat(clock) for clock in clocks))


@pytest.mark.parametrize(
    ("clock", "reserving", "rushing"),
    [
        ("22:54:59.999999", False, False),
        ("22:55:00", True, False),
        ("22:59:59.999999", True, False),
        ("23:00:00", False, True),
        ("23:00:59.999999", False, True),
        ("23:01:00", False, False),
    ],
)
def test_default_windows_are_inclusive_to_the_second_in_local_time(
    clock, reserving, rushing
):
    now = at(DAY, clock)

    cycle = DEFAULTS.cycle_at(TAIPEI, now)

    assert bool(cycle and cycle.in_reservation(now)) is reserving
    assert bool(cycle and cycle.in_rush(now)) is rushing
    if cycle:
        # 23:00 in Taipei is 15:00 UTC: the day is the local one.
        assert cycle.day == DAY


@pytest.mark.django_db
def test_campaign_windows_follow_the_clock_in_its_zone():
    # given a rush in Taipei, where 22:55 local is 14:55 UTC
    campaign = rush_campaign()

    # when the clock stands one second either side of the reservation's opening
    with time_machine.travel(at(DAY, "22:54:59"), tick=False):
        before = rush_cycle_at(campaign, timezone.now())
    with time_machine.travel(dt.datetime(2026, 4, 24, 14, 55, tzinfo=dt.UTC)):
        opened = rush_cycle_at(campaign, timezone.now())
        now = timezone.now()

    # then
    assert before is None
    assert opened.day == DAY and opened.in_reservation(now)


def test_a_rush_across_midnight_belongs_to_the_day_it_opened():
    windows = _windows("23:50:00", "23:59:29", "23:59:30", "00:00:29")

    late = windows.cycle_at(NEW_YORK, at(DAY, "23:59:30", "America/New_York"))
    after_midnight = at(DAY + dt.timedelta(days=1), "00:00:29.5", "America/New_York")
    next_morning = windows.cycle_at(NEW_YORK, after_midnight)
    over = at(DAY + dt.timedelta(days=1), "00:00:30", "America/New_York")

    assert late.day == DAY and late.in_rush(late.rush_opens)
    assert next_morning.day == DAY
    assert next_morning.in_rush(after_midnight)
    assert windows.cycle_at(NEW_YORK, over) is None
    assert next_morning.rush_ends - next_morning.rush_opens == dt.timedelta(minutes=1)


def test_reservations_across_midnight_grab_after_midnight_on_the_same_day():
    windows = _windows("23:58:00", "00:00:59", "00:01:00", "00:01:59")
    tomorrow = DAY + dt.timedelta(days=1)

    reserving = windows.cycle_at(TAIPEI, at(tomorrow, "00:00:30"))
    rushing = windows.cycle_at(TAIPEI, at(tomorrow, "00:01:30"))
    next_cycle = windows.cycle_at(TAIPEI, at(tomorrow, "23:58:00"))

    assert reserving.day == rushing.day == DAY
    assert reserving.in_reservation(at(tomorrow, "00:00:30"))
    assert rushing.in_rush(at(tomorrow, "00:01:30"))
    assert next_cycle.day == tomorrow


def test_a_cycle_over_the_spring_forward_gap_stays_in_order():
    # 2026-03-08 in New York: clocks jump from 02:00 to 03:00.
    windows = _windows("01:55:00", "01:59:59", "03:00:00", "03:00:59")

    cycle = windows.cycle(NEW_YORK, dt.date(2026, 3, 8))

    assert (
        cycle.reservation_opens
        < cycle.reservation_ends
        <= cycle.rush_opens
        < cycle.rush_ends
    )
    assert cycle.reservation_ends - cycle.reservation_opens == dt.timedelta(minutes=5)
    assert cycle.rush_ends - cycle.rush_opens == dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("clocks", "field"),
    [
        (("22:55:00", "23:00:00", "23:00:00", "23:00:59"), "rush_opens"),
        (("22:55:00", "22:59:59", "22:50:00", "22:51:00"), "rush_opens"),
        (("22:55:00", "22:59:59", "23:00:00", "22:56:00"), "rush_closes"),
        (("10:00:00", "09:00:00", "08:30:00", "09:40:00"), "rush_opens"),
    ],
)
def test_windows_that_cannot_make_a_day_are_refused(clocks, field):
    assert field in _windows(*clocks).errors()


@pytest.mark.parametrize(
    "clocks",
    [
        ("22:55:00", "22:59:59", "23:00:00", "23:00:59"),
        ("23:50:00", "23:59:29", "23:59:30", "00:00:29"),
        ("23:58:00", "00:00:59", "00:01:00", "00:01:59"),
        ("12:00:00", "12:00:00", "12:00:01", "12:00:01"),
    ],
)
def test_windows_in_order_within_a_day_are_accepted(clocks):
    assert _windows(*clocks).errors() == {}


def _rush_payload(**fields) -> dict:
    return {
        "name": "Midnight rush",
        "kind": "rush",
        "timezone": ZONE,
        "starts_at": "2026-04-01T00:00:00Z",
        "ends_at": "2099-05-01T00:00:00Z",  # a new campaign must end in the future
        "coupon_types": [{"name": "$5 off", "benefit_kind": "percent", "percent": 5}],
        **fields,
    }


@pytest.mark.django_db
def test_create_rush_campaign_with_windows_across_midnight(staff_client):
    response = staff_client.post(
        "/api/v1/campaigns",
        _rush_payload(
            reservation_opens="23:50:00",
            reservation_closes="23:59:29",
            rush_opens="23:59:30",
            rush_closes="00:00:29",
            ratio="0.25",
        ),
    )

    assert response.status_code == 201, response.json()
    assert response.json()["windows"] == {
        "reservation_opens": "23:50:00",
        "reservation_closes": "23:59:29",
        "rush_opens": "23:59:30",
        "rush_closes": "00:00:29",
        "ratio": "0.2500",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"rush_opens": "22:59:00"}, "rush_opens"),
        ({"rush_closes": "22:56:00"}, "rush_closes"),
        ({"rush_opens": "23:00:00.500"}, "rush_opens"),
        ({"ratio": "0"}, "ratio"),
        (
            {
                "coupon_types": [
                    {"name": "A", "benefit_kind": "percent", "percent": 5},
                    {"name": "B", "benefit_kind": "percent", "percent": 10},
                ]
            },
            "coupon_types",
        ),
    ],
)
def test_create_rush_campaign_refuses_bad_windows(staff_client, fields, bad):
    response = staff_client.post("/api/v1/campaigns", _rush_payload(**fields))

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert bad in response.json()["fields"]
