"""Draws anyone can verify (issue 15): a secret seed per campaign and local day.

Each draw campaign's local day has a seed of 32 bytes from the operating
system's CSPRNG (``secrets``). Its SHA-256 is published (the campaign's detail,
``GET /api/v1/campaigns/<slug>/draw-seeds``) before the day's first draw; the
seed itself once the campaign's local day has ended. Every roll of the day is
the seed's HMAC of the draw's identity, which is fixed before anyone draws: a
customer draws once per campaign and day, so (campaign, day, customer) names
the draw::

    digest = HMAC-SHA256(key=seed, msg=f"{campaign_id}:{day:%Y-%m-%d}:{customer_id}")
    roll = (first 8 bytes of digest, big-endian, as an unsigned int >> 11) / 2**53

53 bits: every such number is a float exactly, so the stored roll reads back
as the one derived. The roll then picks a coupon type from the odds in force,
as before (``pick_coupon_type``).

The server knows the seed during the day: the published hash is the
operator's commitment (a seed chosen after the first draw would not match it),
not a scheme that trusts no one.
"""

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.localcache import MISSING, local_cached, local_peek
from draws.draw.models import DrawSeed

SEED_BYTES = 32


def seed_hash(seed: bytes) -> str:
    """The published commitment to ``seed``: its SHA-256, hex."""
    return hashlib.sha256(seed).hexdigest()


def draw_identity(*, campaign_id: int, day: dt.date, customer_id: int) -> bytes:
    """What names a draw (a customer draws once per campaign and local day)."""
    return f"{campaign_id}:{day.isoformat()}:{customer_id}".encode()


def roll_from_seed(
    seed: bytes, *, campaign_id: int, day: dt.date, customer_id: int
) -> float:
    """The draw's roll in [0, 1): the seed's HMAC-SHA256 of the draw's identity,
    its first 53 bits over 2**53 (exactly a float)."""
    digest = hmac.new(
        seed,
        draw_identity(campaign_id=campaign_id, day=day, customer_id=customer_id),
        hashlib.sha256,
    ).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


def seed_cache_key(campaign_id: int, day: dt.date) -> str:
    return f"draw-seed:{campaign_id}:{day.isoformat()}"


_SEED_INSERT_SQL = """
    INSERT INTO {table} (campaign_id, day, seed, seed_hash, created_at)
    VALUES (%(campaign)s, %(day)s, %(seed)s, %(seed_hash)s, %(created_at)s)
    ON CONFLICT (campaign_id, day) DO NOTHING
"""


def draw_seed_ensure(*, campaign_id: int, day: dt.date) -> DrawSeed:
    """The campaign's seed for ``day``, made now if there is none yet.

    One seed per campaign and day whoever asks at once: the unique constraint
    decides (``INSERT … ON CONFLICT DO NOTHING``), and the row then read is the
    one every process uses. A fresh seed is 32 bytes from ``secrets``.
    """
    made = DrawSeed.objects.filter(campaign_id=campaign_id, day=day).first()
    if made is not None:  # the schedule makes each day's ahead: the usual case
        return made
    seed = secrets.token_bytes(SEED_BYTES)
    sql = _SEED_INSERT_SQL.format(
        table=connection.ops.quote_name(DrawSeed._meta.db_table)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "campaign": campaign_id,
                "day": day,
                "seed": seed,
                "seed_hash": seed_hash(seed),
                "created_at": timezone.now(),
            },
        )
    # A new statement: under READ COMMITTED it sees the row a racing
    # transaction committed, which the INSERT above gave way to.
    return DrawSeed.objects.get(campaign_id=campaign_id, day=day)


def _remember(campaign_id: int, day: dt.date, seed: bytes) -> None:
    local_cached(seed_cache_key(campaign_id, day), lambda: seed, reload=True)


def day_seed(campaign_id: int, day: dt.date) -> bytes:
    """The seed of the campaign's ``day`` (made if need be), held by this process.

    Held only once committed: a seed made in a transaction that rolls back
    must not roll this process's draws (another process makes the real one).
    """
    held = local_peek(seed_cache_key(campaign_id, day))
    if held is not MISSING:
        return held
    seed = bytes(draw_seed_ensure(campaign_id=campaign_id, day=day).seed)
    transaction.on_commit(lambda: _remember(campaign_id, day, seed))
    return seed


def seed_load(campaign_id: int, day: dt.date) -> bytes:
    """Read (or make) the day's seed and hold it: for the thin path's refresh
    thread, which runs outside any transaction."""
    seed = bytes(draw_seed_ensure(campaign_id=campaign_id, day=day).seed)
    _remember(campaign_id, day, seed)
    return seed


def seeded_roll(campaign_id: int, day: dt.date, customer_id: int) -> float:
    """The roll of the customer's draw of ``day`` (Django's path)."""
    return roll_from_seed(
        day_seed(campaign_id, day),
        campaign_id=campaign_id,
        day=day,
        customer_id=customer_id,
    )


def seed_revealed(
    campaign: Campaign, day: dt.date, now: dt.datetime | None = None
) -> bool:
    """Whether ``day`` has ended where the campaign runs: its seed may be shown."""
    return campaign.local_day(now) > day


def seed_shown(campaign: Campaign, seed: DrawSeed, now: dt.datetime) -> dict:
    """A day's seed as anyone may see it: the hash always, the seed itself only
    once the day has ended (the one place an answer reveals a seed)."""
    revealed = seed_revealed(campaign, seed.day, now)
    return {
        "day": seed.day,
        "seed_hash": seed.seed_hash,
        "revealed": revealed,
        "seed": bytes(seed.seed).hex() if revealed else None,
    }


def days_to_prepare(campaign: Campaign, now: dt.datetime) -> list[dt.date]:
    """Today and tomorrow (the campaign's local days) where it may still run."""
    today = campaign.local_day(now)
    days = []
    for day in (today, today + dt.timedelta(days=1)):
        begins = dt.datetime.combine(day, dt.time(0), tzinfo=campaign.tz)
        ends = begins + dt.timedelta(days=1)
        if begins < campaign.ends_at and ends > campaign.starts_at:
            days.append(day)
    return days


def draw_seeds_prepare(*, now: dt.datetime | None = None) -> int:
    """Make today's and tomorrow's seeds of every draw campaign that is active
    or paused and not yet over, so each day's hash is published before its
    first draw (the draw makes it too if this has not run). How many days
    were looked at; safe to run twice or at once (``draw_seed_ensure``)."""
    now = now or timezone.now()
    campaigns = Campaign.objects.filter(
        kind=Campaign.Kind.DRAW,
        status__in=[Campaign.Status.ACTIVE, Campaign.Status.PAUSED],
        ends_at__gt=now,
    )
    count = 0
    for campaign in campaigns:
        for day in days_to_prepare(campaign, now):
            draw_seed_ensure(campaign_id=campaign.pk, day=day)
            count += 1
    return count


ROLL_FORMULA = (
    "HMAC-SHA256(key=seed, msg='{campaign_id}:{day}:{customer_id}'), first 8 "
    "bytes big-endian >> 11, / 2**53"
)


def draw_fairness(campaign: Campaign, now: dt.datetime | None = None) -> dict:
    """The campaign detail's ``draw_fairness`` (``campaigns.fairness``): today's
    seed hash, made now if the campaign may run today and the schedule has not
    made it yet, so it is published before the day's first draw."""
    now = now or timezone.now()
    today = campaign.local_day(now)
    may_run = campaign.status in (
        Campaign.Status.ACTIVE,
        Campaign.Status.PAUSED,
    ) and today in days_to_prepare(campaign, now)
    if may_run:
        seed = draw_seed_ensure(campaign_id=campaign.pk, day=today)
    else:
        seed = DrawSeed.objects.filter(campaign=campaign, day=today).first()
    return {
        "day": today,
        "seed_hash": None if seed is None else seed.seed_hash,
        "roll": ROLL_FORMULA,
        "seeds": reverse("campaign-draw-seeds", kwargs={"slug": campaign.slug}),
    }
