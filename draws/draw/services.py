"""The lucky draw (seed 000): once a day per campaign, odds per coupon type, quotas."""

import datetime as dt
import json

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from campaigns.quotas import quota_take
from campaigns.selectors import campaign_odds
from couponsite import metrics
from couponsite.codes import display_code
from couponsite.errors import DomainError
from couponsite.languages import format_datetime, message_language
from customers.models import Customer
from customers.services.blocking import customer_blocked_check, customer_may_take_part
from draws.daily_marks import done_today, remember_done_today
from draws.draw.fairness import seeded_roll
from draws.draw.models import Draw
from draws.opening import open_today
from messaging.services import queue_sms
from vouchers.services import voucher_issue
from vouchers.webhook_payloads import voucher_payload
from webhooks.events import EventType
from webhooks.services import emit


class AlreadyDrawnToday(DomainError):
    # Raised with retry_after: the seconds to the campaign's local midnight.
    code = "ALREADY_DRAWN_TODAY"
    detail = _("You already drew in this campaign today; come back after midnight.")
    sends_retry_after = True


def pick_coupon_type(odds: list[tuple[int, float]], roll: float) -> int | None:
    """The coupon type whose slice of [0, 1) holds ``roll``; None for "no prize"."""
    edge = 0.0
    for coupon_type_id, probability in odds:
        edge += probability
        if roll < edge:
            return coupon_type_id
    return None


def _remember_drawn(campaign: Campaign, customer: Customer, day: dt.date, now) -> None:
    remember_done_today(
        action="drew", campaign=campaign, customer_id=customer.pk, day=day, now=now
    )


# The winner's text's kind (messaging.models.Message.kind), on either path.
WIN_NOTICE = "win_notice"


def win_message(
    campaign: Campaign, coupon_type: CouponType, voucher, *, language: str
) -> str:
    """The text a winner gets (either path), in ``language``; ``voucher``:
    anything with the coupon's ``code`` and ``expires_at``."""
    with translation.override(language):
        return _(
            "You won %(coupon)s (%(benefit)s) in %(campaign)s! "
            "Code %(code)s, valid until %(until)s."
        ) % {
            "coupon": coupon_type.name,
            "benefit": coupon_type.benefit_text,
            "campaign": campaign.name,
            "code": display_code(voucher.code),
            "until": format_datetime(voucher.expires_at, campaign.tz, language),
        }


_DRAW_INSERT_SQL = """
    INSERT INTO {table}
        (customer_id, campaign_id, day, won, coupon_type_id, roll, odds, created_at,
         from_seed)
    VALUES (%(customer)s, %(campaign)s, %(day)s, FALSE, %(coupon_type)s, %(roll)s,
            %(odds)s, %(created_at)s, %(from_seed)s)
    ON CONFLICT (customer_id, campaign_id, day) DO NOTHING
    RETURNING id
"""


def _draw_insert(draw: Draw) -> int | None:
    """Insert the draw unless the customer already drew that day; its id, or None.

    ``ON CONFLICT DO NOTHING`` on the once-a-day constraint answers a repeat
    without an error, so no savepoint is needed around it (two round trips
    fewer on every draw; SQL for the same reason as ``quota_take``).
    """
    sql = _DRAW_INSERT_SQL.format(table=connection.ops.quote_name(Draw._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "customer": draw.customer_id,
                "campaign": draw.campaign_id,
                "day": draw.day,
                "coupon_type": draw.coupon_type_id,
                "roll": draw.roll,
                "odds": json.dumps(draw.odds),
                "created_at": draw.created_at,
                "from_seed": draw.from_seed,
            },
        )
        row = cursor.fetchone()
    return row[0] if row else None


def draw_won_payload(draw: Draw) -> dict:
    """What the ``draw.won`` webhook tells: the draw, and the coupon won."""
    return {
        "draw": {
            "id": draw.pk,
            "campaign": draw.campaign.slug,
            "customer_id": draw.customer_id,
            "day": draw.day,
            "coupon_type_id": draw.coupon_type_id,
        },
        **voucher_payload(draw.voucher),
    }


def draw_run(
    *,
    campaign: Campaign,
    customer: Customer,
    now: dt.datetime | None = None,
    roll: float | None = None,
) -> Draw:
    """Draw once for ``customer`` in ``campaign`` today (the campaign's local day).

    - A blocked customer is refused first (``CUSTOMER_BLOCKED``), and again
      by their row in the draw's transaction (``customers.services.blocking``).
    - The campaign must be a running draw campaign (``NOT_IN_ACTIVE_TIME``).
    - Once per customer, campaign and local day: the unique constraint decides
      (``ALREADY_DRAWN_TODAY``, 429, ``Retry-After`` to the campaign's local
      midnight); a cached "drew today" mark answers repeats without the database.
    - The roll is the day's seed's HMAC of (campaign, day, customer)
      (``draws.draw.fairness``: anyone can check it once the seed is
      revealed); ``roll`` given instead (tests, demos) is stored as not
      ``from_seed``.
    - The roll picks a coupon type by its probability; a hit takes one unit of
      the type's total and today's quota in one conditional UPDATE. A spent
      quota makes it a loss and leaves the other odds as they are.
    - A win creates the voucher now and queues the customer's text (sent by
      the worker after commit); the ``draw.won`` and ``voucher.issued``
      webhooks go out with it.
    """
    customer_may_take_part(customer)
    now = now or timezone.now()
    today = open_today(campaign, Campaign.Kind.DRAW, now)
    day, retry_after = today.day, today.seconds_left
    if done_today(action="drew", campaign=campaign, customer_id=customer.pk, day=day):
        raise AlreadyDrawnToday(retry_after=retry_after)

    odds = campaign_odds(campaign)
    from_seed = roll is None
    if from_seed:
        roll = seeded_roll(campaign.pk, day, customer.pk)
    picked = pick_coupon_type(odds, roll)
    draw = Draw(
        customer=customer,
        campaign=campaign,
        day=day,
        coupon_type_id=picked,
        roll=roll,
        odds=odds,
        created_at=now,
        from_seed=from_seed,
    )
    with transaction.atomic():
        customer_blocked_check(customer.pk)
        draw.pk = _draw_insert(draw)
        if draw.pk is None:
            _remember_drawn(campaign, customer, day, now)
            raise AlreadyDrawnToday(retry_after=retry_after)
        if picked is not None and quota_take(coupon_type_id=picked, day=day):
            coupon_type = CouponType.objects.get(pk=picked)
            voucher = voucher_issue(coupon_type=coupon_type, owner=customer, now=now)
            Draw.objects.filter(pk=draw.pk).update(won=True, voucher=voucher)
            draw.won, draw.voucher = True, voucher
            emit(EventType.DRAW_WON, lambda: draw_won_payload(draw), now=now)
            queue_sms(
                to=customer.phone,
                body=win_message(
                    campaign,
                    coupon_type,
                    voucher,
                    language=message_language(customer.language),
                ),
                kind=WIN_NOTICE,
            )
        metrics.count_on_commit(metrics.DRAWS_WON if draw.won else metrics.DRAWS_LOST)
        transaction.on_commit(lambda: _remember_drawn(campaign, customer, day, now))
    return draw
