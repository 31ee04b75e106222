"""A customer's email: it becomes theirs only once they prove they read it.

``PATCH /api/v1/me {"email"}`` does not set ``Customer.email``: it starts a
verification (``email_verification_start``), mailing a 6-digit code to the
address (queued, sent by the worker after commit) and keeping only a keyed hash of it in the customer's
``EmailVerification`` row. ``POST /api/v1/me/email/verify {"code"}``
(``email_verify``) sets ``Customer.email`` and, in the same transaction, gives
the customer the unowned vouchers issued to that email. So ``Customer.email``
always means "verified", and vouchers follow only a verified email.

The answer to "change my email" never says whether another customer has the
email: the code is mailed either way and nothing is checked against other
customers. The unique email constraint is met only at verification, where
``409 EMAIL_TAKEN`` goes to the one person who just proved they own the mailbox.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from couponsite.errors import DomainError
from couponsite.languages import message_language
from customers.authentication import forget_tokens_of
from customers.models import Customer, EmailVerification
from customers.services.codes import CodeRefusals, code_refusal
from customers.signals import email_verified
from messaging.services import queue_email


class _Keep:
    """``customer_update(email=KEEP)``: leave the email alone."""


KEEP = _Keep()


class EmailTaken(DomainError):
    code = "EMAIL_TAKEN"
    detail = _("Another customer already uses this email.")


class EmailResendTooSoon(DomainError):
    code = "EMAIL_RESEND_TOO_SOON"
    detail = _("A code was emailed to you moments ago; wait before asking again.")


class EmailCodeInvalid(DomainError):
    code = "EMAIL_CODE_INVALID"
    detail = _("This code is not valid; check the last email we sent you.")


class EmailCodeExpired(DomainError):
    code = "EMAIL_CODE_EXPIRED"
    detail = _("This code has expired; ask for a new one.")


class EmailCodeAttemptsExceeded(DomainError):
    code = "EMAIL_CODE_ATTEMPTS_EXCEEDED"
    detail = _("Too many wrong codes; ask for a new one.")


EMAIL_CODE_REFUSALS = CodeRefusals(
    invalid=EmailCodeInvalid,
    expired=EmailCodeExpired,
    attempts_exceeded=EmailCodeAttemptsExceeded,
)


def _code_hash(customer_id: int, email: str, code: str) -> str:
    return salted_hmac(
        "customers.email", f"{customer_id}:{email}:{code}", algorithm="sha256"
    ).hexdigest()


def _verification_changed(customer: Customer) -> None:
    """The customer's verification row changed: drop the copy loaded with them here,
    and (after commit) the one cached with their tokens."""
    related = Customer.email_verification.related
    if related.is_cached(customer):
        related.delete_cached_value(customer)
    forget_tokens_of(customer_id=customer.pk)


def _queue_code_mail(*, email: str, code: str, language: str) -> None:
    """Mailed by the worker once the request commits (``messaging``): a slow or
    failing mail server neither holds the request nor loses the code. Written
    in ``language`` now, since the worker has no request."""
    minutes = settings.EMAIL_CODE_TTL_SECONDS // 60
    with translation.override(language):
        body = gettext(
            "Your Couponsite verification code is %(code)s. It expires in "
            "%(minutes)d minutes.\n\nIf you did not ask to add this email to a "
            "Couponsite account, ignore this message: nothing changes without the "
            "code."
        ) % {"code": code, "minutes": minutes}
        subject = gettext("Your Couponsite verification code")
    queue_email(to=email, subject=subject, text=body, kind="email_code")


def email_verification_start(*, customer: Customer, email: str) -> EmailVerification:
    """Mail a fresh code to ``email`` for ``customer`` to prove they own it.

    The customer's one row is rewritten with the new email and code, which
    replaces any earlier pending one. At most one send per customer per
    ``EMAIL_CODE_RESEND_SECONDS`` (unless the last code was used): the rewrite
    is conditional on the last send being old enough, and the first send relies
    on the one-row-per-customer constraint, so parallel requests cannot both send.
    """
    email = email.strip().lower()
    now = timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    fresh = {
        "email": email,
        "code_hash": _code_hash(customer.pk, email, code),
        "sent_at": now,
        "expires_at": now + timedelta(seconds=settings.EMAIL_CODE_TTL_SECONDS),
        "attempts": 0,
        "verified_at": None,
    }
    resend_after = now - timedelta(seconds=settings.EMAIL_CODE_RESEND_SECONDS)
    with transaction.atomic():
        sent = EmailVerification.objects.filter(
            Q(sent_at__lte=resend_after) | Q(verified_at__isnull=False),
            customer=customer,
        ).update(**fresh)
        if not sent:
            try:
                with transaction.atomic():
                    EmailVerification.objects.create(customer=customer, **fresh)
            except IntegrityError:
                last = (
                    EmailVerification.objects.filter(customer=customer)
                    .values_list("sent_at", flat=True)
                    .first()
                )
                wait = settings.EMAIL_CODE_RESEND_SECONDS
                if last is not None:
                    wait = (last - resend_after).total_seconds()
                raise EmailResendTooSoon(retry_after=wait) from None
        _verification_changed(customer)
        _queue_code_mail(
            email=email, code=code, language=message_language(customer.language)
        )
    return customer.email_verification


def _cancel_pending(*, customer: Customer) -> None:
    """End a pending verification (its code stops working; the resend gap stays)."""
    if EmailVerification.objects.filter(
        customer=customer, verified_at__isnull=True, expires_at__gt=timezone.now()
    ).update(expires_at=timezone.now()):
        _verification_changed(customer)


def customer_update(
    *,
    customer: Customer,
    name: str | None = None,
    email: str | _Keep | None = KEEP,
    language: str | None = None,
) -> Customer:
    """Rename the customer and/or ask to change their email, all or nothing.

    - a new ``email`` starts a verification (nothing about the email changes
      until the code comes back), whether or not another customer has it;
    - the email they already have cancels a pending change;
    - ``None`` removes their email (and a pending one) at once: giving an
      address up needs no proof; vouchers already theirs stay theirs;
    - ``language`` ("" follows each request's) is the language of their
      answers, texts and emails from then on.
    """
    with transaction.atomic():
        if name is not None and name != customer.name:
            customer.name = name
            customer.save(update_fields=["name"])
        if language is not None and language != customer.language:
            customer.language = language
            # Saving marks their cached tokens stale (customers.signals): the
            # cached owner and the thin path's entry hold the old language.
            customer.save(update_fields=["language"])
        if email is None:
            _cancel_pending(customer=customer)
            if customer.email is not None:
                customer.email = None
                customer.save(update_fields=["email"])
        elif isinstance(email, str):
            email = email.strip().lower()
            if email == customer.email:
                _cancel_pending(customer=customer)
            else:
                email_verification_start(customer=customer, email=email)
    return customer


def email_verify(*, customer: Customer, code: str) -> Customer:
    """Trade the emailed code for the email: it becomes ``customer.email``.

    In the same transaction ``email_verified`` is sent, so what other apps
    hold for that email becomes theirs (``vouchers`` links its vouchers). A code works once, before it expires, and not after
    ``EMAIL_CODE_MAX_ATTEMPTS`` wrong guesses; the row is locked, so two tries
    of one code cannot both succeed and every wrong guess is counted. If another
    customer verified the email meanwhile, ``EmailTaken`` (the code stays
    usable, should they give the email up).
    """
    now = timezone.now()
    with transaction.atomic():
        challenge = (
            EmailVerification.objects.select_for_update()
            .filter(customer=customer)
            .first()
        )
        # The code was mailed for the address it verifies: hashed with it.
        typed_hash = _code_hash(customer.pk, challenge.email, code) if challenge else ""
        error = code_refusal(
            challenge,
            spent=challenge is not None and challenge.verified_at is not None,
            typed_hash=typed_hash,
            max_attempts=settings.EMAIL_CODE_MAX_ATTEMPTS,
            now=now,
            refusals=EMAIL_CODE_REFUSALS,
        )
        if error is None:
            previous = customer.email
            customer.email = challenge.email
            try:
                with transaction.atomic():
                    customer.save(update_fields=["email"])
            except IntegrityError:
                customer.email = previous
                error = EmailTaken()
            else:
                EmailVerification.objects.filter(pk=challenge.pk).update(
                    verified_at=now
                )
                _verification_changed(customer)
                # In this transaction: what is owed to the email becomes theirs.
                email_verified.send(sender=Customer, customer=customer)
    # Raised after the block so a wrong guess's counter is committed, not rolled back.
    if error is not None:
        raise error
    return customer


def verified_owners(*, emails: list[str]) -> dict[str, int]:
    """The id of the customer who verified each of ``emails`` (normalised), for
    issuing vouchers to them inside the caller's transaction.

    It first locks the pending verifications of these emails, so a verification
    in flight commits (and is seen here) before the owners are read, and one
    that starts now waits for the caller's commit, so its
    ``vouchers_link_email`` sees the vouchers being issued. Without the lock a
    voucher issued while its email was being verified could be left unowned.
    """
    list(
        EmailVerification.objects.select_for_update()
        .filter(email__in=emails, verified_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return dict(Customer.objects.filter(email__in=emails).values_list("email", "pk"))
