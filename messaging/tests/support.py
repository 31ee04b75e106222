"""What tests of other rooms use to see messages go out: the queue is run first
(``couponsite.testing.tasks.run_queued_tasks``), as the worker would."""

import re

from django.core import mail

from couponsite import sms
from couponsite.testing.tasks import run_queued_tasks


def sms_sent() -> list[sms.SmsMessage]:
    """Every text message sent so far (the locmem outbox), after the queue ran."""
    run_queued_tasks()
    return list(sms.outbox)


def mail_sent() -> list:
    """Every email sent so far (``django.core.mail.outbox``), after the queue ran."""
    run_queued_tasks()
    return list(mail.outbox)


def last_sms_code(to: str | None = None) -> str:
    """The 6-digit code of the last text message sent (to ``to``, if given)."""
    sent = [m for m in sms_sent() if to is None or m.to == to]
    return re.search(r"\b(\d{6})\b", sent[-1].body).group(1)
