"""Phone sign-in, customers by phone, staff users and API tokens."""

import datetime as dt
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from couponsite.errors import DomainError
from couponsite.languages import message_language
from customers.authentication import remember_token
from customers.models import ApiToken, Customer, OneTimeCode
from customers.services.codes import CodeRefusals, code_refusal
from customers.services.erased_phones import phone_erasure_hold_check
from customers.services.sms_limits import (
    SmsLimitReached,
    sms_country_check,
    sms_refusal_note,
    sms_take,
)
from messaging.services import queue_sms


class OtpResendTooSoon(DomainError):
    code = "OTP_RESEND_TOO_SOON"
    detail = _("A code was sent to this phone moments ago; wait before asking again.")


class OtpInvalid(DomainError):
    code = "OTP_INVALID"
    detail = _("This code is not valid for this phone number.")


class OtpExpired(DomainError):
    code = "OTP_EXPIRED"
    detail = _("This code has expired; ask for a new one.")


class OtpAttemptsExceeded(DomainError):
    code = "OTP_ATTEMPTS_EXCEEDED"
    detail = _("Too many wrong codes; ask for a new one.")


OTP_REFUSALS = CodeRefusals(
    invalid=OtpInvalid, expired=OtpExpired, attempts_exceeded=OtpAttemptsExceeded
)


def _code_hash(phone: str, code: str) -> str:
    return salted_hmac(
        "customers.otp", f"{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def otp_send(*, phone: str) -> OneTimeCode:
    """Text a fresh 6-digit code to ``phone`` (E.164).

    At most one send per phone per ``OTP_RESEND_SECONDS``: the rewrite of the
    phone's row is conditional on the last send being old enough, and the first
    send for a phone relies on the unique constraint, so parallel requests
    cannot both send.

    The abuse controls (``customers.services.sms_limits``) come first: the
    phone's country must be allowed, and the text counts against its prefix's
    and the site's hourly limits in the same transaction (a refused request
    takes nothing from them).
    """
    sms_country_check(phone)
    now = timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    fresh = {
        "code_hash": _code_hash(phone, code),
        "sent_at": now,
        "expires_at": now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        "attempts": 0,
        "used_at": None,
    }
    resend_after = now - timedelta(seconds=settings.OTP_RESEND_SECONDS)
    try:
        with transaction.atomic():
            sent = OneTimeCode.objects.filter(
                phone=phone, sent_at__lte=resend_after
            ).update(**fresh)
            if not sent:
                try:
                    with transaction.atomic():
                        OneTimeCode.objects.create(phone=phone, **fresh)
                except IntegrityError:
                    last = (
                        OneTimeCode.objects.filter(phone=phone)
                        .values_list("sent_at", flat=True)
                        .first()
                    )
                    wait = settings.OTP_RESEND_SECONDS
                    if last is not None:
                        wait = (last - resend_after).total_seconds()
                    raise OtpResendTooSoon(retry_after=wait) from None
            sms_take(phone=phone, now=now)
            minutes = settings.OTP_TTL_SECONDS // 60
            # A known customer's saved language, else the request's.
            saved = Customer.objects.filter(phone=phone).values_list(
                "language", flat=True
            )
            with translation.override(message_language(saved.first())):
                body = _(
                    "Your Couponsite code is %(code)s. It expires in %(minutes)d minutes."
                ) % {"code": code, "minutes": minutes}
            queue_sms(to=phone, body=str(body), kind="sign_in_code")
    except SmsLimitReached as refusal:
        sms_refusal_note(refusal, now=now)
        raise
    return OneTimeCode.objects.get(phone=phone)


def customer_get_or_create(*, phone: str) -> Customer:
    """The customer with this phone, created on first sight (race-safe: unique phone).

    The customer's row is locked (``FOR NO KEY UPDATE``: their draws and
    claims go on) until the caller's transaction ends, so a sign-in racing an
    erasure (``customer_erase`` locks it too) waits, then finds no customer
    with that phone. A new customer for a phone erased less than
    ``ERASURE_SIGNIN_HOLD_SECONDS`` ago is refused (``PhoneRecentlyErased``).
    """
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update(no_key=True).filter(phone=phone).first()
        )
        if customer is None:
            phone_erasure_hold_check(phone=phone)
            customer, _created = Customer.objects.get_or_create(phone=phone)
    return customer


def token_lifetime(*, staff: bool) -> timedelta:
    """How long a new token lives: ``STAFF_TOKEN_TTL_SECONDS`` or ``TOKEN_TTL_SECONDS``."""
    seconds = settings.STAFF_TOKEN_TTL_SECONDS if staff else settings.TOKEN_TTL_SECONDS
    return timedelta(seconds=seconds)


def token_create(
    *,
    customer: Customer | None = None,
    user=None,
    name: str = "",
    expires_at: dt.datetime | None = None,
) -> ApiToken:
    """A new bearer token; the plain token is on ``.key`` of the returned object only.

    It ends at ``expires_at``, by default its kind's lifetime from now
    (``token_lifetime``).
    """
    now = timezone.now()
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        digest=ApiToken.digest_of(raw),
        prefix=raw[:8],
        customer=customer,
        user=user,
        name=name,
        created_at=now,
        expires_at=expires_at or now + token_lifetime(staff=customer is None),
    )
    token.key = raw
    if customer is not None and customer.blocked_at is None:
        # The thin path knows the token from its first request (no query), and
        # the customer's saved language; a blocked customer's requests go to
        # Django (customers.services.blocking).
        transaction.on_commit(
            lambda: remember_token(
                digest=token.digest,
                customer_id=customer.pk,
                expires_at=token.expires_at,
                language=customer.language,
                create=True,
            )
        )
    return token


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; it is refused from the next request on, on every worker
    (see ``customers.authentication`` for the one bounded exception)."""
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def otp_challenge_locked(
    *, phone: str, code: str | None, now: dt.datetime
) -> tuple[OneTimeCode | None, DomainError | None]:
    """Lock ``phone``'s sign-in code row (call it inside a transaction) and
    judge ``code`` typed against it: ``(row, None)`` if it is right, unused and
    unexpired, else ``(row, the refusal)``, a wrong guess counted on the row.
    ``code=None`` only takes the lock (staff acting, no code to judge)."""
    challenge = OneTimeCode.objects.select_for_update().filter(phone=phone).first()
    if code is None:
        return challenge, None
    return challenge, code_refusal(
        challenge,
        spent=challenge is not None and challenge.used_at is not None,
        typed_hash=_code_hash(phone, code),
        max_attempts=settings.OTP_MAX_ATTEMPTS,
        now=now,
        refusals=OTP_REFUSALS,
    )


def otp_exchange(*, phone: str, code: str) -> ApiToken:
    """Trade a sent code for a customer token; the first sign-in creates the customer.

    A code works once, before it expires, and not after ``OTP_MAX_ATTEMPTS``
    wrong guesses. The phone's row is locked, so two tries of one code cannot
    both succeed and every wrong guess is counted.
    """
    now = timezone.now()
    with transaction.atomic():
        challenge, error = otp_challenge_locked(phone=phone, code=code, now=now)
        if error is None:
            OneTimeCode.objects.filter(pk=challenge.pk).update(used_at=now)
            customer = customer_get_or_create(phone=phone)
            token = token_create(customer=customer, name="sign-in")
    # Raised after the block so a wrong guess's counter is committed, not rolled back.
    if error is not None:
        raise error
    return token


def staff_user_get_or_create(*, username: str):
    """A staff user by this name; a new one has no password (token use only)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_staff": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user
