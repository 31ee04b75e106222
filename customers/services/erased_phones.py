"""Phones of erased customers: kept as a keyed hash for a while, so the phone
cannot sign up again at once (``customers.services.erasure``)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from couponsite.errors import DomainError
from customers.models import Customer


class PhoneRecentlyErased(DomainError):
    code = "PHONE_RECENTLY_ERASED"
    detail = _(
        "The account of this phone number was erased recently; it can sign up "
        "again after Retry-After seconds."
    )
    sends_retry_after = True


def erasure_signin_hold() -> timedelta:
    """How long an erased phone may not sign up again: never under a day,
    or erasing would reopen the day's once-a-day rules."""
    return timedelta(seconds=max(settings.ERASURE_SIGNIN_HOLD_SECONDS, 86400))


def erased_phone_hash(phone: str) -> str:
    return salted_hmac("customers.erased_phone", phone, algorithm="sha256").hexdigest()


def phone_erasure_hold_check(*, phone: str) -> None:
    """``PhoneRecentlyErased`` when ``phone`` belonged to a customer erased
    less than ``erasure_signin_hold()`` ago (its first sign-in is refused)."""
    now = timezone.now()
    hold = erasure_signin_hold()
    erased_at = (
        Customer.objects.filter(
            erased_phone_hash=erased_phone_hash(phone), erased_at__gt=now - hold
        )
        .order_by("-erased_at")
        .values_list("erased_at", flat=True)
        .first()
    )
    if erased_at is not None:
        raise PhoneRecentlyErased(retry_after=(erased_at + hold - now).total_seconds())
