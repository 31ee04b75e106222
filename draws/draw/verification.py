"""Checking draws against their day's seed (issue 15): one draw for its
customer, every draw of a day for the operator (``manage.py verify_draws``).

Both re-derive the roll from the seed and the draw's identity
(``draws.draw.fairness.roll_from_seed``), map it again with the odds stored
on the draw (``pick_coupon_type``) and compare with what was stored.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from campaigns.models import Campaign
from draws.draw.fairness import roll_from_seed, seed_hash, seed_revealed
from draws.draw.models import Draw, DrawSeed
from draws.draw.services import pick_coupon_type


@dataclass(frozen=True)
class Mismatch:
    draw_id: int | None  # None: the day's seed itself
    customer_id: int | None
    code: str  # roll | coupon_type | won_without_hit | seed_hash | no_seed
    stored: object
    derived: object

    def __str__(self) -> str:
        who = (
            "the day's seed"
            if self.draw_id is None
            else f"draw {self.draw_id} (customer {self.customer_id})"
        )
        return f"{self.code}: {who}: stored {self.stored!r}, derived {self.derived!r}"


def _draw_mismatches(
    seed: bytes | None,
    *,
    draw_id: int,
    campaign_id: int,
    day: dt.date,
    customer_id: int,
    roll: float,
    odds: list,
    coupon_type_id: int | None,
    won: bool,
) -> list[Mismatch]:
    found = []

    def mismatch(code: str, stored, derived) -> None:
        found.append(Mismatch(draw_id, customer_id, code, stored, derived))

    if seed is None:
        mismatch("no_seed", roll, None)
    else:
        derived = roll_from_seed(
            seed, campaign_id=campaign_id, day=day, customer_id=customer_id
        )
        if derived != roll:
            mismatch("roll", roll, derived)
    mapped = pick_coupon_type([tuple(pair) for pair in odds], roll)
    if mapped != coupon_type_id:
        mismatch("coupon_type", coupon_type_id, mapped)
    if won and coupon_type_id is None:
        mismatch("won_without_hit", won, False)
    return found


def draw_verification(draw: Draw, now: dt.datetime | None = None) -> dict:
    """What a customer may check about their own draw: the roll, the odds in
    force, the type it landed on, whether a spent quota made a hit a loss, the
    day's seed hash, and, once the campaign's day has ended, the seed and
    whether the roll derives from it."""
    now = now or timezone.now()
    seed_row = (
        DrawSeed.objects.filter(campaign_id=draw.campaign_id, day=draw.day).first()
        if draw.from_seed
        else None
    )
    revealed = seed_revealed(draw.campaign, draw.day, now)
    answer = {
        "id": draw.pk,
        "campaign": draw.campaign.slug,
        "day": draw.day,
        "customer_id": draw.customer_id,
        "roll": draw.roll,
        "odds": [{"coupon_type": t, "probability": p} for t, p in draw.odds],
        "coupon_type": draw.coupon_type_id,
        "won": draw.won,
        "quota_spent": draw.coupon_type_id is not None and not draw.won,
        "verifiable": seed_row is not None,
        "identity": "",
        "seed_hash": None,
        "revealed": revealed,
        "seed": None,
        "verified": None,
        "mismatches": [],
    }
    if seed_row is None:
        return answer
    answer["identity"] = f"{draw.campaign_id}:{draw.day.isoformat()}:{draw.customer_id}"
    answer["seed_hash"] = seed_row.seed_hash
    if revealed:
        seed = bytes(seed_row.seed)
        found = _draw_mismatches(
            seed,
            draw_id=draw.pk,
            campaign_id=draw.campaign_id,
            day=draw.day,
            customer_id=draw.customer_id,
            roll=draw.roll,
            odds=draw.odds,
            coupon_type_id=draw.coupon_type_id,
            won=draw.won,
        )
        if seed_hash(seed) != seed_row.seed_hash:
            found.append(
                Mismatch(None, None, "seed_hash", seed_row.seed_hash, seed_hash(seed))
            )
        answer["seed"] = seed.hex()
        answer["verified"] = not found
        answer["mismatches"] = [m.code for m in found]
    return answer


@dataclass
class DayReport:
    campaign: str
    day: dt.date
    revealed: bool
    seed_hash: str | None = None
    checked: int = 0
    not_verifiable: int = 0  # made before seeds (or with a roll given)
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatch_count: int = 0


def day_verify(
    campaign: Campaign,
    day: dt.date,
    *,
    now: dt.datetime | None = None,
    limit: int = 100,
    on_mismatch=None,
) -> DayReport:
    """Re-derive every roll of ``campaign``'s ``day`` and compare (streamed:
    a day of any size reads in chunks). ``limit``: mismatches kept in the
    report (all are counted; ``on_mismatch`` hears each)."""
    seed_row = DrawSeed.objects.filter(campaign=campaign, day=day).first()
    report = DayReport(
        campaign=campaign.slug, day=day, revealed=seed_revealed(campaign, day, now)
    )

    def found(mismatch: Mismatch) -> None:
        report.mismatch_count += 1
        if len(report.mismatches) < limit:
            report.mismatches.append(mismatch)
        if on_mismatch is not None:
            on_mismatch(mismatch)

    seed = None
    if seed_row is not None:
        seed = bytes(seed_row.seed)
        report.seed_hash = seed_row.seed_hash
        if seed_hash(seed) != seed_row.seed_hash:
            found(
                Mismatch(None, None, "seed_hash", seed_row.seed_hash, seed_hash(seed))
            )
    rows: Iterator = (
        Draw.objects.filter(campaign=campaign, day=day)
        .order_by("id")
        .values_list(
            "id", "customer_id", "roll", "odds", "coupon_type_id", "won", "from_seed"
        )
        .iterator(chunk_size=2000)
    )
    for draw_id, customer_id, roll, odds, coupon_type_id, won, from_seed in rows:
        if not from_seed:
            report.not_verifiable += 1
            continue
        report.checked += 1
        for mismatch in _draw_mismatches(
            seed,
            draw_id=draw_id,
            campaign_id=campaign.pk,
            day=day,
            customer_id=customer_id,
            roll=roll,
            odds=odds,
            coupon_type_id=coupon_type_id,
            won=won,
        ):
            found(mismatch)
    return report
