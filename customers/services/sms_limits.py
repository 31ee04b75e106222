"""What stops SMS pumping: who may be texted a sign-in code, and how many.

Every sign-in text costs the retailer money, and bots request codes for
premium-rate numbers to collect the fees. Three rules, checked by ``otp_send``
before a code is written or queued:

- The phone's country must be in ``SMS_ALLOWED_COUNTRIES`` (empty: any)
  (``COUNTRY_NOT_ALLOWED``).
- Each phone prefix (country code and the first ``SMS_PREFIX_DIGITS``
  national digits) gets ``SMS_PREFIX_LIMIT`` texts per clock hour
  (``PHONE_PREFIX_THROTTLED``), so one number range cannot eat the budget.
- The whole site sends ``SMS_HOURLY_BUDGET`` sign-in texts per clock hour
  (``SMS_BUDGET_EXHAUSTED``); at ``SMS_BUDGET_WARN_PERCENT`` and when it is
  spent an alarm is logged, once per hour, and shown on the back office's
  start page.

Both counts are rows of ``SmsCount`` in Postgres, taken by a conditional upsert
that stops at the limit, inside the send's transaction (the prefix's row, then
the site's, in that fixed order): a refused or failed send rolls its units
back, parallel requests cannot together pass a limit, and losing Redis changes
nothing (it is not used here). A plain read of both rows first refuses without
taking a row lock once a limit is spent, so a flood of refused requests does
not queue behind the sends.
"""

import datetime as dt
import logging
import math
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from couponsite import metrics
from couponsite.errors import DomainError
from customers.models import SmsCount

logger = logging.getLogger(__name__)

SITE = ""  # the prefix of the site-wide row


class CountryNotAllowed(DomainError):
    code = "COUNTRY_NOT_ALLOWED"
    detail = _("Sign-in codes are not sent to phone numbers of this country.")


class SmsLimitReached(Exception):
    """What the hourly counts' refusals share (``hour``, ``prefix``); each is a
    ``DomainError`` with its own code."""

    sends_retry_after = True
    reason = ""

    def __init__(self, *, hour: dt.datetime, prefix: str, now: dt.datetime):
        self.hour, self.prefix = hour, prefix
        super().__init__(retry_after=(next_hour(now) - now).total_seconds())


class SmsBudgetExhausted(SmsLimitReached, DomainError):
    code = "SMS_BUDGET_EXHAUSTED"
    detail = _(
        "No more sign-in codes can be sent this hour; try again after the given "
        "seconds."
    )
    reason = "budget"


class PhonePrefixThrottled(SmsLimitReached, DomainError):
    code = "PHONE_PREFIX_THROTTLED"
    detail = _(
        "Too many sign-in codes went to numbers like this one this hour; try "
        "again after the given seconds."
    )
    reason = "prefix"


def hour_of(now: dt.datetime) -> dt.datetime:
    """The clock hour (UTC) ``now`` falls in."""
    return now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def next_hour(now: dt.datetime) -> dt.datetime:
    return hour_of(now) + dt.timedelta(hours=1)


def phone_region(phone: str) -> str | None:
    """The country (ISO region code) of an E.164 number, or None."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))


def phone_prefix(phone: str) -> str:
    """Country code and the first ``SMS_PREFIX_DIGITS`` national digits:
    "+1 415 555 0123" -> "1415555" (with 6)."""
    number = phonenumbers.parse(phone, None)
    national = phonenumbers.national_significant_number(number)
    return f"{number.country_code}{national[: max(0, settings.SMS_PREFIX_DIGITS)]}"


def sms_country_check(phone: str) -> None:
    """``COUNTRY_NOT_ALLOWED`` unless the phone's country may be texted."""
    allowed = settings.SMS_ALLOWED_COUNTRIES
    if allowed and phone_region(phone) not in allowed:
        metrics.sms_refused("country")
        raise CountryNotAllowed()


@dataclass(frozen=True)
class _Limit:
    prefix: str
    limit: int
    error: type[SmsLimitReached]


def _limits(phone: str) -> list[_Limit]:
    """The counts a text to ``phone`` takes from, in lock order (prefix, site)."""
    limits = []
    if settings.SMS_PREFIX_LIMIT > 0:
        limits.append(
            _Limit(phone_prefix(phone), settings.SMS_PREFIX_LIMIT, PhonePrefixThrottled)
        )
    if settings.SMS_HOURLY_BUDGET > 0:
        limits.append(_Limit(SITE, settings.SMS_HOURLY_BUDGET, SmsBudgetExhausted))
    return limits


_TAKE_SQL = """
    INSERT INTO {table} (hour, prefix, sent, refused) VALUES (%s, %s, 1, 0)
    ON CONFLICT (hour, prefix) DO UPDATE SET sent = {table}.sent + 1
    WHERE {table}.sent < %s
    RETURNING sent
"""


def sms_take(*, phone: str, now: dt.datetime) -> None:
    """Count one sign-in text to ``phone`` in this hour's rows, or raise the
    limit it would pass (``PHONE_PREFIX_THROTTLED``, ``SMS_BUDGET_EXHAUSTED``).

    Run inside the send's transaction (the units roll back with it). A refusal
    takes nothing; the caller rolls back and calls ``sms_refusal_note``.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("sms_take must run in the send's transaction")
    limits = _limits(phone)
    if not limits:
        return
    hour = hour_of(now)
    spent = dict(
        SmsCount.objects.filter(
            hour=hour, prefix__in=[limit.prefix for limit in limits]
        ).values_list("prefix", "sent")
    )
    for limit in limits:  # without a lock: a spent limit refuses at once
        if spent.get(limit.prefix, 0) >= limit.limit:
            raise limit.error(hour=hour, prefix=limit.prefix, now=now)
    sql = _TAKE_SQL.format(table=connection.ops.quote_name(SmsCount._meta.db_table))
    for limit in limits:
        with connection.cursor() as cursor:
            cursor.execute(sql, [hour, limit.prefix, limit.limit])
            row = cursor.fetchone()
        if row is None:
            raise limit.error(hour=hour, prefix=limit.prefix, now=now)
        if limit.prefix == SITE:
            _warn_when_near(hour, sent=row[0], budget=limit.limit, now=now)


def _warn_when_near(hour: dt.datetime, *, sent: int, budget: int, now) -> None:
    """The first text of the hour past the warning line raises the alarm (once:
    the row is locked by this transaction, ``warned_at`` marks it)."""
    line = math.ceil(budget * settings.SMS_BUDGET_WARN_PERCENT / 100)
    if sent < line:
        return
    if SmsCount.objects.filter(hour=hour, prefix=SITE, warned_at__isnull=True).update(
        warned_at=now
    ):
        transaction.on_commit(
            lambda: logger.warning(
                "SMS budget alarm: %s of %s sign-in texts sent in the hour from "
                "%s UTC (%s%%)",
                sent,
                budget,
                f"{hour:%Y-%m-%d %H:%M}",
                settings.SMS_BUDGET_WARN_PERCENT,
            )
        )


def sms_refusal_note(refusal: SmsLimitReached, *, now: dt.datetime) -> None:
    """After a refused text (its transaction rolled back): count the refusal on
    its row and, the first time in the hour, log the alarm."""
    metrics.sms_refused(refusal.reason)
    rows = SmsCount.objects.filter(hour=refusal.hour, prefix=refusal.prefix)
    with transaction.atomic():
        rows.update(refused=F("refused") + 1)
        first = rows.filter(exhausted_at__isnull=True).update(exhausted_at=now)
    if not first:
        return
    if refusal.prefix == SITE:
        logger.error(
            "SMS budget alarm: the hourly budget of %s sign-in texts is spent for "
            "the hour from %s UTC; further codes are refused until the next hour",
            settings.SMS_HOURLY_BUDGET,
            f"{refusal.hour:%Y-%m-%d %H:%M}",
        )
    else:
        logger.warning(
            "SMS prefix limit: %s sign-in texts to numbers starting +%s in the hour "
            "from %s UTC; further codes to them are refused until the next hour",
            settings.SMS_PREFIX_LIMIT,
            refusal.prefix,
            f"{refusal.hour:%Y-%m-%d %H:%M}",
        )


@dataclass(frozen=True)
class SmsBudgetState:
    """The site's sign-in texts in this hour, for the back office's alarm."""

    hour: dt.datetime
    sent: int
    budget: int
    refused: int

    @property
    def percent(self) -> int:
        return math.floor(100 * self.sent / self.budget)

    @property
    def exhausted(self) -> bool:
        return self.sent >= self.budget

    @property
    def alarm(self) -> bool:
        return self.percent >= settings.SMS_BUDGET_WARN_PERCENT


def sms_budget_state(now: dt.datetime | None = None) -> SmsBudgetState | None:
    """This hour's count against the budget (None without a budget)."""
    budget = settings.SMS_HOURLY_BUDGET
    if budget <= 0:
        return None
    hour = hour_of(now or timezone.now())
    row = SmsCount.objects.filter(hour=hour, prefix=SITE).first()
    return SmsBudgetState(
        hour=hour,
        sent=row.sent if row else 0,
        budget=budget,
        refused=row.refused if row else 0,
    )
