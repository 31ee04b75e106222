"""Reads of the lucky draw that a use case needs: its cost simulation's inputs.

The API (``POST /api/v1/campaigns/{slug}/simulations``) and the admin's
"Simulate" page both check their inputs with ``simulation_errors`` and run
``draw_simulate``; the Monte Carlo itself is ``draws.draw.simulation``.
A simulation is a read: it changes nothing, so it writes no audit row.
"""

import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext

from campaigns.models import Benefit, Campaign, CouponType
from draws.draw.simulation import (
    SimType,
    campaign_day_count,
    require_simulable_days,
    simulate,
    simulation_plan,
)
from draws.opening import require_kind

SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class TypeAssumption:
    """What staff expect of one coupon type: its cost per redeemed coupon (None:
    the benefit's amount) and the share of won coupons redeemed (None: the
    simulation's default)."""

    cost: Decimal | None = None
    redemption_rate: Decimal | None = None


def simulation_types(campaign: Campaign) -> list[CouponType]:
    """The types a draw can hit (probability above 0), in the draw's order."""
    return list(
        CouponType.objects.filter(campaign=campaign, probability__gt=0).order_by("id")
    )


def default_cost(coupon_type: CouponType) -> Decimal | None:
    """A coupon's cost when staff give none: an amount off costs its amount;
    a percentage or a free item has no money value here."""
    if coupon_type.benefit_kind == Benefit.Kind.AMOUNT:
        return coupon_type.amount
    return None


def simulation_day_count(campaign: Campaign) -> int:
    return campaign_day_count(campaign.starts_at, campaign.ends_at, campaign.tz)


def simulation_errors(
    campaign: Campaign,
    *,
    types: list[CouponType],
    participants_by_day: list[int] | None,
    assumptions: dict[int, TypeAssumption],
) -> dict[str, list[str]]:
    """What is wrong with these inputs for this campaign, by field (empty: none).

    - ``participants_by_day`` has one number per local day of the campaign;
    - every coupon type named is one of the campaign's that can be won;
    - a type whose benefit has no money value (percentage, free item) needs a
      cost; the amounts taken as costs are in one currency.
    """
    errors: dict[str, list[str]] = {}
    if participants_by_day is not None:
        days = simulation_day_count(campaign)
        if len(participants_by_day) != days:
            errors["participants_by_day"] = [
                gettext(
                    "The campaign has %(days)s local days (%(timezone)s); give "
                    "one number for each, not %(given)s."
                )
                % {
                    "days": days,
                    "timezone": campaign.timezone,
                    "given": len(participants_by_day),
                }
            ]
    known = {coupon_type.pk: coupon_type for coupon_type in types}
    unknown = sorted(set(assumptions) - set(known))
    if unknown:
        known_ids = ", ".join(map(str, sorted(known))) or "—"
        errors["coupon_types"] = [
            gettext(
                "Coupon type %(id)s is not one of this campaign's that can be won "
                "(known: %(known)s)."
            )
            % {"id": pk, "known": known_ids}
            for pk in unknown
        ]
    currencies = set()
    for coupon_type in types:
        given = assumptions.get(coupon_type.pk, TypeAssumption())
        if given.cost is not None:
            continue
        if default_cost(coupon_type) is None:
            errors.setdefault("coupon_types", []).append(
                gettext(
                    'Give a cost for "%(name)s" (id %(id)s): its benefit '
                    "(%(benefit)s) has no money value."
                )
                % {
                    "name": coupon_type.name,
                    "id": coupon_type.pk,
                    "benefit": coupon_type.benefit_text,
                }
            )
        else:
            currencies.add(coupon_type.currency)
    if len(currencies) > 1:
        errors.setdefault("coupon_types", []).append(
            gettext(
                "The amounts off are in %(currencies)s: give a cost for each "
                "type, in one currency."
            )
            % {"currencies": ", ".join(sorted(currencies))}
        )
    return errors


def draw_simulate(
    *,
    campaign: Campaign,
    types: list[CouponType] | None = None,
    participants_per_day: int | None = None,
    participants_by_day: list[int] | None = None,
    hourly_profile: list[Decimal] | None = None,
    assumptions: dict[int, TypeAssumption] | None = None,
    redemption_rate: Decimal = Decimal(1),
    runs: int,
    seed: int | None = None,
) -> dict:
    """Simulate the draw campaign ``runs`` times over its whole life, every
    quota full at its start (what was already issued is not counted).

    Inputs are checked first with ``simulation_errors``; ``WRONG_CAMPAIGN_KIND``
    for a campaign that is not a draw, ``SIMULATION_TOO_LARGE`` past the work
    bound. Without a seed one is chosen and returned, to run it again.
    """
    require_kind(campaign, Campaign.Kind.DRAW)
    types = simulation_types(campaign) if types is None else types
    assumptions = assumptions or {}
    days = simulation_day_count(campaign)
    require_simulable_days(days)
    if participants_by_day is None:
        participants_by_day = [participants_per_day or 0] * days
    sim_types, currencies = [], set()
    for coupon_type in types:
        given = assumptions.get(coupon_type.pk, TypeAssumption())
        cost = given.cost
        if cost is None:
            cost = default_cost(coupon_type)
            currencies.add(coupon_type.currency)
        rate = given.redemption_rate
        sim_types.append(
            SimType(
                id=coupon_type.pk,
                name=coupon_type.name,
                probability=float(coupon_type.probability),
                total_quota=coupon_type.total_quota,
                daily_quota=coupon_type.daily_quota,
                cost=float(cost),
                redemption_rate=float(redemption_rate if rate is None else rate),
            )
        )
    plan = simulation_plan(
        timezone=campaign.timezone,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        types=sim_types,
        participants=[float(n) for n in participants_by_day],
        hourly_profile=[float(w) for w in hourly_profile] if hourly_profile else None,
    )
    if seed is None:
        seed = random.SystemRandom().randint(0, SEED_MAX)
    result = simulate(plan, runs=runs, seed=seed)
    return {
        "campaign": campaign.slug,
        "currency": currencies.pop() if len(currencies) == 1 else None,
        **result,
    }
