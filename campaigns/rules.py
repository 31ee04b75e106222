"""What makes a campaign valid: one set of rules for the API and the admin.

``campaign_validate`` takes a campaign's fields and its coupon types as plain
values, so the API's create serializer (its validated data) and the admin (the
campaign form, then the coupon type inline) call the same rules and give the
same messages. It raises nothing: it returns the errors keyed by field, each a
list of messages, ``{}`` when all is well, and each caller turns them into its
own kind of error (a 400 naming the fields; errors on the admin's fields).
The rules about the coupon types as a whole are keyed ``coupon_types``.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from campaigns.models import RUSH_WINDOW_FIELDS, Campaign
from campaigns.schedule import RushWindows

# The campaign fields the rules read (the keyword arguments of campaign_validate).
CHECKED_FIELDS = ("kind", "starts_at", "ends_at", *RUSH_WINDOW_FIELDS, "ratio")

# The fields only some kinds read; every other field is every kind's. A rush
# alone has daily windows and a ratio; odds and quotas are the draw's
# (``quota_take``), the hold is the claim's; a claim's coupon is due when its
# hold ends, so it has no ``valid_days`` (CLAIM_VALID_DAYS_REFUSED). The admin
# shows each kind only its own (``kind_fields``).
CAMPAIGN_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    Campaign.Kind.DRAW: (),
    Campaign.Kind.CLAIM: (),
    Campaign.Kind.RUSH: (*RUSH_WINDOW_FIELDS, "ratio"),
}
COUPON_TYPE_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    Campaign.Kind.DRAW: (
        "probability",
        "total_quota",
        "daily_quota",
        "quota_shards",
        "valid_days",
    ),
    Campaign.Kind.CLAIM: ("hold_seconds",),
    Campaign.Kind.RUSH: ("valid_days",),
}

# The messages, as msgids: each is translated where an error is made (gettext).
ENDS_IN_THE_PAST = gettext_noop("A campaign must end in the future.")
ENDS_BEFORE_IT_STARTS = gettext_noop("A campaign must end after it starts.")
TYPE_NAMES_REPEATED = gettext_noop("Coupon type names must differ.")
DRAW_WITHOUT_ODDS = gettext_noop(
    "A lucky draw needs at least one coupon type with a probability."
)
RUSH_NOT_ONE_TYPE = gettext_noop("A rush hands out exactly one coupon type.")
RUSH_TIME_FRACTION = gettext_noop("Window times are to the second.")
RUSH_RATIO_ZERO = gettext_noop(
    "A rush needs a ratio above 0 (0.2: one coupon per five)."
)
# campaigns.models.CLAIM_VALID_DAYS_REFUSED, marked for translation.
CLAIM_VALID_DAYS_REFUSED = gettext_noop(
    "valid_days has no effect on a claim's coupons: the hold (hold_seconds) is "
    "their deadline. Leave it out (valid_until still ends the pool's coupons)."
)


# Probabilities have six decimals (CouponType.probability), as the API's total shows.
PROBABILITY_STEP = Decimal("0.000001")


def kind_fields(
    kind: str, fields: Sequence[str], by_kind: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """``fields`` less those only other kinds read (``by_kind``: one of the maps
    above), e.g. a claim's coupon type without ``probability``."""
    others = {name for k, names in by_kind.items() if k != kind for name in names}
    return [name for name in fields if name not in others or name in by_kind[kind]]


def odds_past_one(total: Decimal) -> str:
    total = Decimal(total).quantize(PROBABILITY_STEP)
    return gettext(
        "Probabilities add up to %(total)s; they may add up to 1 at most."
    ) % {"total": total}


def campaign_validate(
    *,
    kind: str | None = None,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    reservation_opens: dt.time | None = None,
    reservation_closes: dt.time | None = None,
    rush_opens: dt.time | None = None,
    rush_closes: dt.time | None = None,
    ratio: Decimal | None = None,
    coupon_types: Sequence[Mapping[str, Any]] | None = None,
    creating: bool = True,
    end_moved: bool = False,
    now: dt.datetime | None = None,
) -> dict[str, list[str]]:
    """The errors of a campaign with these fields and coupon types, keyed by field.

    - It ends after it starts; a new end lies ahead: a new campaign's
      (``creating``), or a changed campaign's moved end (``end_moved``), so an
      ended campaign stays editable.
    - Its coupon types have different names.
    - A lucky draw's probabilities add up to more than 0 and at most 1.
    - A rush hands out exactly one coupon type, at a ratio above 0, in windows
      given to the second that make a daily cycle (``RushWindows``).
    - A claim's coupon types take no ``valid_days``: their hold is the deadline.

    A field left out, or None (it failed its own validation), skips the rules
    that read it; so does ``coupon_types=None``. Each coupon type is a mapping
    with ``name`` and ``probability`` (absent: 0), and ``valid_days`` only when
    staff gave one.
    """
    errors: dict[str, list[str]] = {}
    if ends_at is not None:
        if (creating or end_moved) and ends_at <= (now or timezone.now()):
            errors["ends_at"] = [gettext(ENDS_IN_THE_PAST)]
        elif starts_at is not None and starts_at >= ends_at:
            errors["ends_at"] = [gettext(ENDS_BEFORE_IT_STARTS)]
    if coupon_types is not None:
        names = [t["name"] for t in coupon_types if t.get("name") is not None]
        if len(set(names)) != len(names):
            errors["coupon_types"] = [gettext(TYPE_NAMES_REPEATED)]
    if kind == Campaign.Kind.DRAW and coupon_types is not None:
        total = sum(_probability(t) for t in coupon_types)
        if total > 1:
            errors["coupon_types"] = [odds_past_one(total)]
        elif total == 0:
            errors["coupon_types"] = [gettext(DRAW_WITHOUT_ODDS)]
    if kind == Campaign.Kind.RUSH:
        times = {
            "reservation_opens": reservation_opens,
            "reservation_closes": reservation_closes,
            "rush_opens": rush_opens,
            "rush_closes": rush_closes,
        }
        errors.update(_rush_errors(times, ratio, coupon_types))
    if (
        kind == Campaign.Kind.CLAIM
        and coupon_types is not None
        and any("valid_days" in t for t in coupon_types)
    ):
        errors.setdefault("coupon_types", []).append(gettext(CLAIM_VALID_DAYS_REFUSED))
    return errors


def _probability(coupon_type: Mapping[str, Any]) -> Decimal | int:
    probability = coupon_type.get("probability", 0)
    return 0 if probability is None else probability


def _rush_errors(
    times: dict[str, dt.time | None],
    ratio: Decimal | None,
    coupon_types: Sequence[Mapping[str, Any]] | None,
) -> dict[str, list[str]]:
    """A rush hands out one coupon type, in windows that make a daily cycle."""
    errors = {}
    if coupon_types is not None and len(coupon_types) != 1:
        errors["coupon_types"] = [gettext(RUSH_NOT_ONE_TYPE)]
    for name, value in times.items():
        if value is not None and value.microsecond:
            errors[name] = [gettext(RUSH_TIME_FRACTION)]
    if ratio is not None and ratio <= 0:
        errors["ratio"] = [gettext(RUSH_RATIO_ZERO)]
    if all(value is not None for value in times.values()):
        for name, message in RushWindows(**times).errors().items():
            errors.setdefault(name, [message])
    return errors
