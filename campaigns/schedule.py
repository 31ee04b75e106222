"""The daily windows of rush campaigns, and which local day a moment belongs to.

A rush campaign has, every local day, a reservation window and then a rush
window, given as local times of day to the second and inclusive at both ends
(22:55:00-22:59:59 means from 22:55:00.000 until just before 23:00:00).

A day's *cycle* is anchored where its reservation window opens: the
reservation closes at the next ``reservation_closes`` after that, the rush
opens at the next ``rush_opens`` after the close and closes at the next
``rush_closes``. So a window that crosses local midnight (a rush at
23:59:30-00:00:29, or reservations at 23:58-23:59:59 and the rush at 00:00)
belongs to the day its reservation window opened: the customers who reserved
on the 24th grab the 24th's coupons even when the rush runs into the 25th.
A cycle lasts less than a day, so cycles never overlap; the rush opens at
most 12 hours after reservations close (a longer wait is taken for a typo).

Boundaries are computed in wall-clock time in the campaign's zone, then
turned into UTC instants; compare instants, never wall times.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils.translation import gettext

DAY_SECONDS = 24 * 3600
ONE_SECOND = dt.timedelta(seconds=1)
# A longer wait between reserving and rushing is taken for a typo (times swapped).
MAX_WAIT_SECONDS = 12 * 3600


def _second_of_day(value: dt.time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass(frozen=True)
class RushCycle:
    """One local day's reservation and rush windows as UTC instants (ends exclusive)."""

    day: dt.date
    reservation_opens: dt.datetime
    reservation_ends: dt.datetime
    rush_opens: dt.datetime
    rush_ends: dt.datetime

    def in_reservation(self, now: dt.datetime) -> bool:
        return self.reservation_opens <= now < self.reservation_ends

    def in_rush(self, now: dt.datetime) -> bool:
        return self.rush_opens <= now < self.rush_ends

    def contains(self, now: dt.datetime) -> bool:
        return self.reservation_opens <= now < self.rush_ends


@dataclass(frozen=True)
class RushWindows:
    """The four local times of a rush campaign (to the second; microseconds ignored)."""

    reservation_opens: dt.time
    reservation_closes: dt.time
    rush_opens: dt.time
    rush_closes: dt.time

    @classmethod
    def of(cls, campaign) -> "RushWindows":
        return cls(
            reservation_opens=campaign.reservation_opens,
            reservation_closes=campaign.reservation_closes,
            rush_opens=campaign.rush_opens,
            rush_closes=campaign.rush_closes,
        )

    def offsets(self) -> tuple[int, int, int]:
        """Seconds from the reservation opening to its close, the rush opening and close."""
        start = _second_of_day(self.reservation_opens)
        return tuple(
            (_second_of_day(value) - start) % DAY_SECONDS
            for value in (self.reservation_closes, self.rush_opens, self.rush_closes)
        )

    def errors(self) -> dict[str, str]:
        """Why these windows cannot make a daily cycle (empty when they can)."""
        closes, rush_opens, rush_closes = self.offsets()
        if not closes < rush_opens <= closes + MAX_WAIT_SECONDS:
            return {
                "rush_opens": gettext(
                    "The rush must open after the reservation window closes, "
                    "within 12 hours."
                )
            }
        if rush_closes < rush_opens:
            return {
                "rush_closes": gettext(
                    "The rush must close before the next day's reservation "
                    "window opens."
                )
            }
        return {}

    def cycle(self, tz: zoneinfo.ZoneInfo, day: dt.date) -> RushCycle:
        """The windows of local ``day`` (the day the reservation window opens)."""
        anchor = dt.datetime.combine(day, self.reservation_opens.replace(microsecond=0))
        closes, rush_opens, rush_closes = self.offsets()

        def at(offset: int) -> dt.datetime:
            wall = anchor + dt.timedelta(seconds=offset)
            return wall.replace(tzinfo=tz).astimezone(dt.UTC)

        return RushCycle(
            day=day,
            reservation_opens=at(0),
            reservation_ends=at(closes) + ONE_SECOND,
            rush_opens=at(rush_opens),
            rush_ends=at(rush_closes) + ONE_SECOND,
        )

    def cycle_at(self, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> RushCycle | None:
        """The cycle running at ``now`` (from reservation opening to rush end), if any."""
        today = now.astimezone(tz).date()
        for day in (today, today - dt.timedelta(days=1)):
            cycle = self.cycle(tz, day)
            if cycle.contains(now):
                return cycle
        return None

    def latest_cycle(self, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> RushCycle:
        """The cycle running at ``now`` or, between cycles, the last one that opened."""
        today = now.astimezone(tz).date()
        cycle = self.cycle(tz, today)
        if cycle.reservation_opens <= now:
            return cycle
        return self.cycle(tz, today - dt.timedelta(days=1))
