"""Text messages, sent through a backend chosen by ``SMS_BACKEND``.

In the manner of Django's email backends: ``console`` (the default), ``file``
(one file per message under ``SMS_FILE_PATH``), ``locmem`` (kept in
``couponsite.sms.outbox``, for tests), ``twilio`` (a real provider), or the
dotted path of any class with ``send_messages(messages) -> int``.

This is the transport only: messages to customers are queued as rows by the
messaging room (``messaging.services.queue_sms``) in the effect's transaction
and sent from here by the task worker, never inside a request.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

BACKEND_ALIASES = {
    "console": "couponsite.sms.backends.ConsoleBackend",
    "file": "couponsite.sms.backends.FileBackend",
    "locmem": "couponsite.sms.backends.LocmemBackend",
    "twilio": "couponsite.sms.backends.TwilioBackend",
}

# Messages sent through the locmem backend, oldest first (tests read and clear it).
outbox: list["SmsMessage"] = []


@dataclass
class SmsMessage:
    to: str
    body: str
    sender: str = field(default_factory=lambda: settings.SMS_SENDER)
    created_at: object = field(default_factory=timezone.now)


def get_backend(name: str | None = None):
    name = name or settings.SMS_BACKEND
    return import_string(BACKEND_ALIASES.get(name, name))()


def send_sms(*, to: str, body: str) -> int:
    """Send now, through the configured backend; the number of messages sent."""
    return get_backend().send_messages([SmsMessage(to=to, body=body)])
