import base64
import json
import logging
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from couponsite import sms

logger = logging.getLogger("couponsite.sms")


class SmsSendError(Exception):
    pass


class BaseBackend:
    def send_messages(self, messages) -> int:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Writes each message to standard output, for development."""

    _lock = threading.Lock()

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send_messages(self, messages) -> int:
        with self._lock:
            for message in messages:
                self.stream.write(
                    f"--- SMS from {message.sender} to {message.to} "
                    f"at {message.created_at:%Y-%m-%d %H:%M:%S%z}\n{message.body}\n---\n"
                )
            self.stream.flush()
        return len(messages)


class FileBackend(BaseBackend):
    """One JSON file per message in ``SMS_FILE_PATH``."""

    def __init__(self, path: str | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)
        self.path.mkdir(parents=True, exist_ok=True)

    def send_messages(self, messages) -> int:
        for message in messages:
            name = f"{message.created_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.json"
            payload = {
                "to": message.to,
                "sender": message.sender,
                "body": message.body,
                "created_at": message.created_at.isoformat(),
            }
            (self.path / name).write_text(json.dumps(payload, indent=2))
        return len(messages)


class LocmemBackend(BaseBackend):
    """Keeps messages in ``couponsite.sms.outbox``."""

    _lock = threading.Lock()

    def send_messages(self, messages) -> int:
        with self._lock:
            sms.outbox.extend(messages)
        return len(messages)


class TwilioBackend(BaseBackend):
    """Twilio's Messages API over HTTPS (``TWILIO_*`` settings)."""

    timeout = 5.0

    def __init__(self):
        self.account = settings.TWILIO_ACCOUNT_SID
        self.token = settings.TWILIO_AUTH_TOKEN
        self.sender = settings.TWILIO_FROM_NUMBER
        if not (self.account and self.token and self.sender):
            raise ImproperlyConfigured(
                "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
                "and TWILIO_FROM_NUMBER"
            )
        self.url = (
            f"{settings.TWILIO_API_BASE.rstrip('/')}"
            f"/2010-04-01/Accounts/{self.account}/Messages.json"
        )
        credentials = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        self.authorization = f"Basic {credentials}"

    def send_messages(self, messages) -> int:
        for message in messages:
            data = urllib.parse.urlencode(
                {"To": message.to, "From": self.sender, "Body": message.body}
            ).encode()
            request = urllib.request.Request(
                self.url,
                data=data,
                headers={"Authorization": self.authorization},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    answer.read()
            except urllib.error.HTTPError as exc:
                raise SmsSendError(f"Twilio answered {exc.code}") from exc
            except OSError as exc:
                raise SmsSendError(f"Twilio unreachable: {exc}") from exc
            logger.info("sms sent", extra={"to": message.to, "provider": "twilio"})
        return len(messages)


class NullBackend(BaseBackend):
    """Drops every message (load tests)."""

    def send_messages(self, messages) -> int:
        return len(messages)
