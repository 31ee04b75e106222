"""A rush day's counters agree with its rows (rule 4)."""

import datetime as dt

from django.db.models import F, OuterRef, Q
from django.utils.translation import gettext_noop

from draws.invariants.base import DEFAULT_LIMIT, Breach, RuleResult, count_of, result_of
from draws.models import Grab, Reservation, RushDay
from vouchers.models import Voucher

# --- 4. A rush day's counters --------------------------------------------------------


def rush_days_add_up(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """Each rush day's counters agree with its rows: ``coupons`` =
    floor(``reservations`` * ratio) in integers (``coupons_for``), ``reservations``
    = its ``Reservation`` rows, its coupons made = ``coupons`` (the vouchers of its
    release: one made the moment a reservation earns it), its grabs <= ``coupons``."""
    days = RushDay.objects.annotate(
        reserved=count_of(Reservation.objects.filter(rush_day_id=OuterRef("pk"))),
        made=count_of(Voucher.objects.filter(release_id=OuterRef("release_id"))),
        grabbed=count_of(
            Grab.objects.filter(
                campaign_id=OuterRef("campaign_id"), day=OuterRef("day")
            )
        ),
    )
    ratio_off = ~Q(coupons=F("reservations") * F("coupons_per_10000") / 10000)
    wrong = (
        days.filter(
            ratio_off
            | ~Q(reservations=F("reserved"))
            | ~Q(made=F("coupons"))
            | Q(grabbed__gt=F("coupons"))
        )
        .values(
            "pk",
            "campaign_id",
            "day",
            "reservations",
            "coupons",
            "coupons_per_10000",
            "reserved",
            "made",
            "grabbed",
        )
        .order_by("pk")
    )

    def breach(row) -> Breach:
        expected = row["reservations"] * row["coupons_per_10000"] // 10000
        problems = []
        if row["coupons"] != expected:
            problems.append(f"coupons {row['coupons']} != floor(ratio) {expected}")
        if row["reservations"] != row["reserved"]:
            problems.append(
                f"reservations {row['reservations']} != {row['reserved']} rows"
            )
        if row["made"] != row["coupons"]:
            problems.append(f"{row['made']} coupons made != coupons {row['coupons']}")
        if row["grabbed"] > row["coupons"]:
            problems.append(f"{row['grabbed']} grabs > coupons {row['coupons']}")
        return Breach(
            "RUSH_DAY_MISCOUNTED",
            f"Rush day {row['pk']} (campaign {row['campaign_id']}, {row['day']}): "
            + "; ".join(problems)
            + ".",
            {
                "rush_day": row["pk"],
                "campaign": row["campaign_id"],
                "day": row["day"].isoformat(),
                **{
                    name: row[name]
                    for name in (
                        "reservations",
                        "coupons",
                        "coupons_per_10000",
                        "reserved",
                        "made",
                        "grabbed",
                    )
                },
            },
        )

    return result_of(
        "RUSH_DAY_MISCOUNTED",
        gettext_noop(
            "rush day: coupons = floor(reservations x ratio), counters = rows, grabs <= coupons"
        ),
        RushDay.objects.count(),
        wrong,
        breach,
        limit,
    )
