"""Reads about customers that more than one place needs."""

from django.utils import timezone

from customers.models import Customer, EmailVerification


def pending_email_verification(*, customer: Customer) -> EmailVerification | None:
    """The customer's email change waiting for its code, if it can still be verified.

    Uses the verification loaded with the customer (``customers.authentication``
    selects it with the token), or asks the database once.
    """
    try:
        verification = customer.email_verification
    except EmailVerification.DoesNotExist:
        return None
    if verification.verified_at is None and verification.expires_at > timezone.now():
        return verification
    return None
