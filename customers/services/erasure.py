"""Erasure: a customer's personal data removed, what counts kept.

``DELETE /api/v1/me`` (with a fresh sign-in code, proof the phone is still
theirs) and the back office's "Erase this customer" (with a reason, audited)
call ``customer_erase``. In one transaction:

- the customer's row stays (draws, claims, reservations, grabs and vouchers
  point at it and keep counting for quotas, once-a-day rules and figures), but
  anonymised: the phone becomes ``erased:<id>`` (not a phone number: nobody
  can sign in as it), email and name go, ``is_active`` is off and
  ``erased_at`` set;
- every token is revoked, and after commit its cached owner is marked stale
  in Redis (the thin path's entry too), as a revocation does;
- their sign-in code and email verification rows are deleted;
- each app anonymises its own rows (``customers.erasure``): messages to their
  phone and emails (unsent ones cancelled), the email on their vouchers, the
  values the audit log recorded about them.

The phone may not sign up again for ``ERASURE_SIGNIN_HOLD_SECONDS`` (at least
a day): otherwise erasing would be a way to take part twice in one day (the
once-a-day rules hold per customer row, and a new sign-in makes a new row).
For that long the row keeps a keyed hash of the phone (``erased_phone_hash``,
not reversible without the server's secret key), which ``purge_expired`` blanks
afterwards; then the phone signs up as a new customer with no history.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from couponsite.audit import audit_erase, audit_record
from couponsite.errors import DomainError
from customers.authentication import forget_tokens_on_commit
from customers.erasure import ErasedCustomer, erasure_parts
from customers.models import ApiToken, Customer, EmailVerification, OneTimeCode
from customers.services.erased_phones import erased_phone_hash, erasure_signin_hold
from customers.services.signin import otp_challenge_locked
from messaging.services import messages_erase_recipients

# What an erased customer's placeholder starts with (never a phone number).
ERASED_PREFIX = "erased:"
SELF_ERASURE_REASON = "Asked by the customer (DELETE /api/v1/me, with a sign-in code)."


class CustomerAlreadyErased(DomainError):
    code = "CUSTOMER_ERASED"
    detail = _("This customer's personal data was already erased.")


def customer_erase(
    *,
    customer: Customer,
    code: str | None = None,
    acting_user=None,
    reason: str = "",
) -> Customer:
    """Erase ``customer``'s personal data (see the module), all or nothing.

    The customer proves the phone with ``code``, a sign-in code sent to it
    (``POST /api/v1/auth/otp``), unused and unexpired; a wrong one counts
    against ``OTP_MAX_ATTEMPTS`` as at sign-in (``OtpInvalid``, ``OtpExpired``,
    ``OtpAttemptsExceeded``) and changes nothing else. Staff give
    ``acting_user`` and ``reason`` instead; either way an audit entry
    ``customer.erased`` records it.

    The phone's sign-in code row is locked first, then the customer's email
    verification, then the customer's row, in the order a sign-in
    (``otp_exchange``) and an email verification (``email_verify``) take them:
    a sign-in racing the erasure either finishes first (its token is revoked
    here) or waits and then finds no customer with that phone, and the hold
    (``PhoneRecentlyErased``); an email verification finishes first (its email
    is erased here) or finds its code gone.
    """
    if code is None and acting_user is None:
        raise ValueError("customer_erase needs the customer's code or a staff user")
    now = timezone.now()
    with transaction.atomic():
        _challenge, error = otp_challenge_locked(
            phone=customer.phone, code=code, now=now
        )
        if error is None:
            # Then their email verification, as ``email_verify`` takes it.
            list(
                EmailVerification.objects.select_for_update()
                .filter(customer=customer)
                .values_list("pk", flat=True)
            )
            locked = (
                Customer.objects.select_for_update(no_key=True)
                .filter(pk=customer.pk)
                .first()
            )
            if locked is None or locked.erased_at is not None:
                error = CustomerAlreadyErased()
            else:
                _erase(locked, now=now)
                audit_record(
                    acting_user=acting_user,
                    action="customer.erased",
                    target=locked,
                    reason=reason if acting_user is not None else SELF_ERASURE_REASON,
                )
    # Raised after the block so a wrong guess's counter is committed, not rolled back.
    if error is not None:
        raise error
    return locked


def _erase(customer: Customer, *, now) -> None:
    phone = customer.phone
    verification = EmailVerification.objects.filter(customer=customer).first()
    emails = {customer.email, verification and verification.email}
    erased = ErasedCustomer(
        customer=customer,
        phone=phone,
        email=customer.email.lower() if customer.email else None,
        emails=frozenset(email.lower() for email in emails if email),
    )
    placeholder = f"{ERASED_PREFIX}{customer.pk}"

    # What the apps above hold (vouchers' emails...), then this room's rows.
    for _name, erase in erasure_parts():
        erase(erased)
    tokens = ApiToken.objects.filter(customer=customer)
    live = list(tokens.filter(revoked_at__isnull=True).values_list("digest", flat=True))
    tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    forget_tokens_on_commit(live)
    EmailVerification.objects.filter(customer=customer).delete()
    # A code row written after the erasure began, and locked by the sign-in
    # using it, is not waited for: that sign-in waits for this customer row
    # (waiting for each other would deadlock), then finds the phone erased. It
    # is that new attempt's row, like any sent to the phone later.
    OneTimeCode.objects.filter(
        pk__in=list(
            OneTimeCode.objects.select_for_update(skip_locked=True)
            .filter(phone=phone)
            .values_list("pk", flat=True)
        )
    ).delete()
    messages_erase_recipients(
        recipients=[phone, *erased.emails], placeholder=placeholder
    )
    audit_erase(
        targets=[customer, *tokens],
        fields={"phone", "email", "name"},
        target_repr=placeholder,
    )

    customer.phone = placeholder
    customer.email = None
    customer.name = ""
    customer.is_active = False
    customer.erased_at = now
    customer.erased_phone_hash = erased_phone_hash(phone)
    customer.save(
        update_fields=[
            "phone",
            "email",
            "name",
            "is_active",
            "erased_at",
            "erased_phone_hash",
        ]
    )


def erased_phone_hashes_purge() -> int:
    """Blank the phone hashes of customers erased longer ago than the hold
    (``purge_expired``): then nothing links the row to a phone any more."""
    return (
        Customer.objects.filter(
            erased_at__lte=timezone.now() - erasure_signin_hold(),
        )
        .exclude(erased_phone_hash="")
        .update(erased_phone_hash="")
    )
