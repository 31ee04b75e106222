"""Counts of events per second, minute, hour or day of a time zone's wall clock.

A chart asks for a ``Span`` (from, to, unit, zone) and hands ``counted`` a
queryset: one aggregate query (``GROUP BY`` the time truncated in the
database, ``Trunc(..., tzinfo=zone)``, on Postgres and SQLite alike) and the
buckets nobody hit filled with zeros.

Buckets are the zone's wall-clock units, so a local day or hour is the one
people live in: an event at 23:30 local belongs to that local day, whatever
UTC says. Across a DST change a day has 23 or 25 hours; the hour that is
repeated in autumn is one bucket (the database truncates wall times), and the
hour skipped in spring has none.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db.models import Aggregate, Count, F, QuerySet
from django.db.models.functions import Trunc
from django.utils import dateformat
from django.utils.translation import pgettext

UNITS = ("second", "minute", "hour", "day")
_STEP = {
    "second": dt.timedelta(seconds=1),
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
}


def _floor(wall: dt.datetime, unit: str) -> dt.datetime:
    """A naive wall-clock time truncated to the start of its ``unit``."""
    wall = wall.replace(tzinfo=None, microsecond=0, fold=0)
    if unit == "second":
        return wall
    if unit == "minute":
        return wall.replace(second=0)
    if unit == "hour":
        return wall.replace(minute=0, second=0)
    return wall.replace(hour=0, minute=0, second=0)


def wall_time(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The naive wall-clock time of an aware ``moment`` in ``tz``."""
    return moment.astimezone(tz).replace(tzinfo=None, fold=0)


@dataclass(frozen=True)
class Span:
    """The instants ``start`` (inclusive) to ``end`` (exclusive), cut into the
    ``unit`` buckets of ``tz``'s wall clock."""

    start: dt.datetime
    end: dt.datetime
    unit: str
    tz: zoneinfo.ZoneInfo

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a span's ends are aware datetimes")

    def buckets(self) -> list[dt.datetime]:
        """Each bucket's naive local start, in order, each once (zero-filling's keys)."""
        if self.end <= self.start:
            return []
        first = _floor(wall_time(self.start, self.tz), self.unit)
        last = _floor(
            wall_time(self.end - dt.timedelta(microseconds=1), self.tz), self.unit
        )
        if self.unit == "day":
            days = (last.date() - first.date()).days
            return [first + dt.timedelta(days=n) for n in range(days + 1)]
        # Step in real time from the first bucket's start, so a day with a DST
        # change gets its 23 or 25 hours; a repeated wall hour is listed once.
        step, keys = _STEP[self.unit], {}
        moment = first.replace(tzinfo=self.tz).astimezone(dt.UTC)
        while moment < self.end:
            keys.setdefault(_floor(wall_time(moment, self.tz), self.unit), None)
            moment += step
        return list(keys)

    def bucket_of(self, value: dt.datetime | dt.date) -> dt.datetime:
        """The bucket key of a value ``Trunc`` gave back (aware, or naive local),
        or of a local date."""
        if not isinstance(value, dt.datetime):
            return dt.datetime.combine(value, dt.time(0))
        if value.tzinfo is not None:
            value = wall_time(value, self.tz)
        return _floor(value, self.unit)


def counted(
    queryset: QuerySet,
    field: str,
    span: Span,
    *,
    day_field: str | None = None,
    **counts: Aggregate,
) -> dict[str, list[int]]:
    """Per bucket of ``span``, the ``counts`` (default ``count=Count("pk")``) of
    the rows of ``queryset`` whose ``field`` falls in it, zeros where none do.

    One query: the rows are chosen by a range on ``field`` (an index on the
    queryset's filter then ``field`` serves it) and grouped in the database.

    ``day_field`` names a date column the rows already hold their local day
    in (a draw's ``day``): per day, the rows are grouped by it instead. Over a
    million rows that is twice as fast (Postgres knows the column has few
    values and aggregates in parallel; a truncated time it takes for unique).
    """
    counts = counts or {"count": Count("pk")}
    keys = span.buckets()
    position = {key: n for n, key in enumerate(keys)}
    totals = {name: [0] * len(keys) for name in counts}
    if span.unit == "day" and day_field and keys:
        first, last = keys[0].date(), keys[-1].date()
        chosen = queryset.filter(
            **{f"{day_field}__gte": first, f"{day_field}__lte": last}
        ).annotate(bucket=F(day_field))
    else:
        chosen = queryset.filter(
            **{f"{field}__gte": span.start, f"{field}__lt": span.end}
        ).annotate(bucket=Trunc(field, span.unit, tzinfo=span.tz))
    rows = chosen.order_by().values("bucket").annotate(**counts)
    for row in rows:
        n = position.get(span.bucket_of(row["bucket"]))
        if n is None:  # cannot happen for a value inside the span; never guess
            continue
        for name in counts:
            totals[name][n] += row[name] or 0
    return totals


_LABELS = {"second": "%H:%M:%S", "minute": "%H:%M", "hour": "%H:00"}


def labels(span: Span) -> list[str]:
    """The buckets' names as people read them: 22:59:07, 14:05, 09:00, 30 Nov
    (a day in the active language: 11月30日 in Chinese)."""
    if span.unit == "day":
        shown = pgettext("a chart's day, as a Django date format", "d M")
        return [dateformat.format(key, shown) for key in span.buckets()]
    return [key.strftime(_LABELS[span.unit]) for key in span.buckets()]


def round_ticks(span: Span, every: int) -> list[int]:
    """The buckets to label when labelling one in ``every``: those on round
    times (03:25, 03:30… for every 5 minutes), not counted from the first."""
    keys = span.buckets()
    if span.unit == "day":
        return list(range(0, len(keys), every))
    return [n for n, key in enumerate(keys) if getattr(key, span.unit) % every == 0]


def _midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant a local day starts, in UTC (arithmetic on it is real time)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)


def hour_until(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> Span:
    """The last 60 minutes, per minute, the one running included."""
    end = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return Span(start=end - dt.timedelta(hours=1), end=end, unit="minute", tz=tz)


def day_of(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> Span:
    """The local day of ``now``, per hour (23 or 25 of them on a DST change)."""
    day = now.astimezone(tz).date()
    return Span(
        start=_midnight(day, tz),
        end=_midnight(day + dt.timedelta(days=1), tz),
        unit="hour",
        tz=tz,
    )


def days_between(
    start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo, most: int = 366
) -> Span:
    """Per local day, from the day of ``start`` to the day of ``end`` (at most
    the last ``most`` days)."""
    first = start.astimezone(tz).date()
    last = max(first, end.astimezone(tz).date())
    first = max(first, last - dt.timedelta(days=most - 1))
    return Span(
        start=_midnight(first, tz),
        end=_midnight(last + dt.timedelta(days=1), tz),
        unit="day",
        tz=tz,
    )
