"""Reads about customers that more than one place needs."""

from django.utils import timezone

from customers.models import Customer, EmailVerification


def pending_email_verification(*, customer: Customer) -> EmailVerification | None:
    """The customer's email change waiting for its code, if one still can be verified."""
    return EmailVerification.objects.filter(
        customer=customer, verified_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
