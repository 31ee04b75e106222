"""Once a day per customer (rule 2) and one holder per coupon (rule 3)."""

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext_noop

from draws.invariants.base import DEFAULT_LIMIT, Breach, RuleResult, result_of
from draws.models import Claim, Draw, Grab, Reservation
from vouchers.models import Voucher

# --- 2. Once per customer, campaign and local day ------------------------------------

ONCE_A_DAY = {"draw": Draw, "claim": Claim, "reservation": Reservation, "grab": Grab}


def once_a_day_kept(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """One draw, one claim, one reservation, one grab per customer, campaign and
    local day (each model's unique constraint; the audit checks the rows)."""
    result = RuleResult(
        code="ONCE_A_DAY_BROKEN",
        rule=gettext_noop(
            "one draw / claim / reservation / grab per customer, campaign and day"
        ),
        checked=0,
    )
    for name, model in ONCE_A_DAY.items():
        result.checked += model.objects.count()
        repeats = (
            model.objects.values("customer_id", "campaign_id", "day")
            .annotate(times=Count("id"))
            .filter(times__gt=1)
            .order_by("campaign_id", "day", "customer_id")
        )
        result.breach_count += repeats.count()
        for row in repeats[: max(0, limit - len(result.breaches))]:
            ids = list(
                model.objects.filter(
                    customer_id=row["customer_id"],
                    campaign_id=row["campaign_id"],
                    day=row["day"],
                )
                .order_by("id")
                .values_list("id", flat=True)[:limit]
            )
            result.breaches.append(
                Breach(
                    "ONCE_A_DAY_BROKEN",
                    f"Customer {row['customer_id']} has {row['times']} {name}s in "
                    f"campaign {row['campaign_id']} on {row['day']}.",
                    {
                        "model": name,
                        "customer": row["customer_id"],
                        "campaign": row["campaign_id"],
                        "day": row["day"].isoformat(),
                        "count": row["times"],
                        "ids": ids,
                    },
                )
            )
    return result


# --- 3. One holder per coupon at any moment ------------------------------------------


def holds_apart(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """No coupon is held by two claims at once: the holds two claims of one
    voucher granted, [``created_at``, ``held_until``), never overlap (a claim
    takes only a free coupon or one whose hold ran out, ``claimable``)."""
    earlier = Claim.objects.filter(
        voucher_id=OuterRef("voucher_id"),
        id__lt=OuterRef("id"),
        created_at__lt=OuterRef("held_until"),
        held_until__gt=OuterRef("created_at"),
    )
    overlaps = (
        Claim.objects.filter(Exists(earlier))
        .annotate(earlier_claim=Subquery(earlier.order_by("id").values("id")[:1]))
        .values("id", "earlier_claim", "voucher_id", "campaign_id", "customer_id")
        .order_by("id")
    )
    return result_of(
        "HOLDS_OVERLAP",
        gettext_noop("one holder per coupon: claims' holds of a voucher never overlap"),
        Claim.objects.count(),
        overlaps,
        lambda row: Breach(
            "HOLDS_OVERLAP",
            f"Claim {row['id']} holds voucher {row['voucher_id']} while claim "
            f"{row['earlier_claim']} still held it.",
            {
                "claims": [row["earlier_claim"], row["id"]],
                "voucher": row["voucher_id"],
                "campaign": row["campaign_id"],
                "customer": row["customer_id"],
            },
        ),
        limit,
    )


def held_by_its_claim(*, now: dt.datetime, limit: int = DEFAULT_LIMIT) -> RuleResult:
    """A voucher in status HELD has a holder and a deadline, and they are those
    of a claim of it (the claim writes both, ``claim_take``): its ``owner`` is
    that claim's customer and its ``held_until`` that claim's."""
    held = Voucher.objects.filter(status=Voucher.Status.HELD)
    its_claim = Claim.objects.filter(
        voucher_id=OuterRef("pk"),
        customer_id=OuterRef("owner_id"),
        held_until=OuterRef("held_until"),
    )
    wrong = (
        held.filter(
            Q(owner__isnull=True) | Q(held_until__isnull=True) | ~Exists(its_claim)
        )
        .values("pk", "campaign_id", "owner_id", "held_until")
        .order_by("pk")
    )
    return result_of(
        "HELD_WITHOUT_ITS_CLAIM",
        gettext_noop("a held voucher has an owner and held_until, those of its claim"),
        held.count(),
        wrong,
        lambda row: Breach(
            "HELD_WITHOUT_ITS_CLAIM",
            f"Voucher {row['pk']} is held (owner {row['owner_id']}, until "
            f"{row['held_until']}) with no claim granting that hold.",
            {
                "voucher": row["pk"],
                "campaign": row["campaign_id"],
                "owner": row["owner_id"],
                "held_until": row["held_until"] and row["held_until"].isoformat(),
            },
        ),
        limit,
    )
