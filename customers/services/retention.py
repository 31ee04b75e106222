"""Sign-in and email codes kept ``RETENTION_SIGNIN_CODES`` after their last send.

A code's row holds only a keyed hash of the code, but it names a phone (maybe
of someone who never signed in) or an email, and when a code went to it. It
serves the resend and wrong-guess limits for minutes; kept a while longer it
answers "did this phone get a code?" (support, abuse), then it goes. A phone or
customer asking again later simply gets a new row.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from couponsite.retention import purge_in_batches
from customers.models import EmailVerification, OneTimeCode


def _cutoff(now: dt.datetime | None) -> dt.datetime:
    return (now or timezone.now()) - settings.RETENTION_SIGNIN_CODES


def signin_codes_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the phones' sign-in code rows last sent before the retention; how many."""
    expired = OneTimeCode.objects.filter(sent_at__lt=_cutoff(now))
    return purge_in_batches(expired, kind="sign_in_codes")


def email_codes_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the email verification rows (used or not) last sent before the
    retention; how many. A verified email stays on the customer."""
    expired = EmailVerification.objects.filter(sent_at__lt=_cutoff(now))
    return purge_in_batches(expired, kind="email_codes")


def codes_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    return {
        "sign_in_codes": signin_codes_purge(now=now),
        "email_codes": email_codes_purge(now=now),
    }
