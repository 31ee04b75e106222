"""Messages to customers: queued in the caller's transaction, sent by the worker.

``queue_sms`` / ``queue_email`` / ``queue_emails_in_bulk`` write the message's
row and enqueue its send task in the transaction of the effect that causes it:
a rolled-back effect sends nothing, a committed one is sent even if the process
dies right after (the task is a row too). ``message_deliver`` (the task's body)
claims the row with a conditional UPDATE, so a duplicate task or a second worker
never sends it twice, and retries a failing provider with backoff up to
``MESSAGE_MAX_ATTEMPTS``. ``messages_sweep`` (every minute) re-enqueues what
was left behind: a row whose task is gone, a worker killed mid-send.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from couponsite import metrics
from couponsite.audit import audit_record
from couponsite.background.backoff import backoff_delay
from couponsite.errors import DomainError
from couponsite.sms import SmsMessage, get_backend
from messaging import tasks
from messaging.models import Message, masked

logger = logging.getLogger("messaging")

Status = Message.Status


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One email for ``queue_emails_in_bulk``."""

    to: str
    subject: str
    text: str
    kind: str
    html: str | None = None


def queue_sms(*, to: str, body: str, kind: str) -> Message:
    """Text ``body`` to ``to`` (E.164) once the caller's transaction commits."""
    message = Message.objects.create(
        channel=Message.Channel.SMS, recipient=to, body=body, kind=kind
    )
    tasks.send_message.enqueue(message.pk)
    return message


def queue_email(
    *, to: str, subject: str, text: str, html: str | None = None, kind: str
) -> Message:
    """Mail ``to`` (plain ``text``, and ``html`` as an alternative if given) once
    the caller's transaction commits."""
    message = Message.objects.create(
        channel=Message.Channel.EMAIL,
        recipient=to,
        subject=subject,
        body=text,
        html_body=html or "",
        kind=kind,
    )
    tasks.send_message.enqueue(message.pk)
    return message


def queue_emails_in_bulk(messages: Iterable[OutgoingEmail]) -> list[Message]:
    """``queue_email`` for many at once (10,000 voucher emails in one request):
    the rows in a few multi-row INSERTs, and one send task per
    ``MESSAGE_BULK_CHUNK`` of them, in the caller's transaction."""
    now = timezone.now()
    rows = [
        Message(
            channel=Message.Channel.EMAIL,
            recipient=m.to,
            subject=m.subject,
            body=m.text,
            html_body=m.html or "",
            kind=m.kind,
            next_attempt_at=now,
            created_at=now,
        )
        for m in messages
    ]
    with transaction.atomic():
        created = Message.objects.bulk_create(rows, batch_size=1000)
        messages_enqueue(message_ids=[m.pk for m in created])
    return created


def messages_enqueue(*, message_ids: list[int], run_after: dt.datetime | None = None):
    """Enqueue the send of messages already written (one task per chunk);
    also what the thin draw path calls after its group commit."""
    chunk = settings.MESSAGE_BULK_CHUNK
    for start in range(0, len(message_ids), chunk):
        ids = message_ids[start : start + chunk]
        task = tasks.send_message if len(ids) == 1 else tasks.send_messages
        if run_after is not None:
            task = task.using(run_after=run_after)
        task.enqueue(ids[0] if len(ids) == 1 else ids)


def _claim(message_id: int, now: dt.datetime) -> Message | None:
    """Take the message for sending (pending and due → sending, leased), or None
    when someone else has it, it is sent, or it waits for a retry's backoff.

    A first attempt is always due: its time was set by the clock of the process
    that queued it, which may run ahead of this one."""
    lease_end = now + dt.timedelta(seconds=settings.MESSAGE_SEND_LEASE_SECONDS)
    claimed = (
        Message.objects.filter(pk=message_id, status=Status.PENDING)
        .filter(Q(attempts=0) | Q(next_attempt_at__lte=now))
        .update(status=Status.SENDING, next_attempt_at=lease_end)
    )
    if not claimed:
        return None
    return Message.objects.get(pk=message_id)


def _send(message: Message) -> None:
    if message.channel == Message.Channel.SMS:
        sent = get_backend().send_messages(
            [SmsMessage(to=message.recipient, body=message.body)]
        )
        if sent != 1:
            raise RuntimeError(f"the SMS backend sent {sent} of 1")
        return
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body, to=[message.recipient]
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    if email.send() != 1:
        raise RuntimeError("the mail backend sent nothing")


def message_deliver(*, message_id: int) -> str:
    """Send one message if it is still to be sent; what happened
    (``sent``, ``retry``, ``failed``, ``skipped``).

    The claim is a conditional UPDATE (pending and due → sending), so a message
    is handed to the provider by one worker only. A provider error counts an
    attempt: the message waits ``backoff_delay`` and its task is enqueued again,
    until ``MESSAGE_MAX_ATTEMPTS``, when it is failed (the back office lists it).
    A sent code (``SECRET_KINDS``) is blanked in the row: nobody needs it again.
    """
    now = timezone.now()
    with transaction.atomic():
        message = _claim(message_id, now)
    if message is None:
        return "skipped"
    try:
        _send(message)
    except Exception as error:
        return _failed_attempt(message, error)
    done = {"status": Status.SENT, "sent_at": timezone.now(), "last_error": ""}
    if message.is_secret:
        done.update(body=masked(message.body), html_body=masked(message.html_body))
    Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
        attempts=message.attempts + 1, **done
    )
    metrics.MESSAGES.labels(message.channel, "sent").inc()
    return "sent"


def _failed_attempt(message: Message, error: Exception) -> str:
    attempts = message.attempts + 1
    text = f"{type(error).__name__}: {error}"[:1000]
    now = timezone.now()
    with transaction.atomic():
        if attempts >= settings.MESSAGE_MAX_ATTEMPTS:
            Message.objects.filter(pk=message.pk, status=Status.SENDING).update(
                status=Status.FAILED, attempts=attempts, last_error=text
            )
            outcome = "failed"
        else:
            due = now + backoff_delay(
                attempts,
                base_seconds=settings.MESSAGE_RETRY_BASE_SECONDS,
                cap_seconds=settings.MESSAGE_RETRY_CAP_SECONDS,
            )
            updated = Message.objects.filter(
                pk=message.pk, status=Status.SENDING
            ).update(
                status=Status.PENDING,
                attempts=attempts,
                last_error=text,
                next_attempt_at=due,
            )
            if updated:
                tasks.send_message.using(run_after=due).enqueue(message.pk)
            outcome = "retry"
    metrics.MESSAGES.labels(message.channel, outcome).inc()
    logger.warning(
        "message not sent",
        extra={
            "message_id": message.pk,
            "kind": message.kind,
            "attempt": attempts,
            "outcome": outcome,
            "error": text,
        },
    )
    return outcome


def _orphans(*, stale: dt.datetime, limit: int) -> list[int]:
    """Pending messages due since before ``stale`` that no waiting or running
    send task names. The tasks' arguments are read only when there is such a
    message (rarely: a lost enqueue), in Python, the same on Postgres and SQLite."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    candidates = list(
        Message.objects.filter(status=Status.PENDING, next_attempt_at__lte=stale)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not candidates:
        return []
    named: set[int] = set()
    for args_kwargs in (
        DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
            task_path__in=[
                tasks.send_message.module_path,
                tasks.send_messages.module_path,
            ],
        )
        .values_list("args_kwargs", flat=True)
        .iterator()
    ):
        for arg in args_kwargs.get("args", ()):
            named.update(arg if isinstance(arg, list) else [arg])
    return [pk for pk in candidates if pk not in named]


def messages_sweep(*, now: dt.datetime | None = None, limit: int = 5000) -> dict:
    """Put back on the queue what was left behind; idempotent (run every minute).

    - a message in ``sending`` past its lease (the worker died mid-send; it may
      have gone out: sending is at least once) counts the attempt and is
      pending again, or failed after the last attempt;
    - a pending message due for ``MESSAGE_SWEEP_GRACE_SECONDS`` with no send
      task waiting or running (the thin path's process died between its commit
      and the enqueue, a task row deleted) gets a new task.
    """
    now = now or timezone.now()
    with transaction.atomic():
        lost = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SENDING, next_attempt_at__lte=now)
            .order_by("pk")[:limit]
        )
        for message in lost:
            attempts = message.attempts + 1
            give_up = attempts >= settings.MESSAGE_MAX_ATTEMPTS
            Message.objects.filter(pk=message.pk).update(
                status=Status.FAILED if give_up else Status.PENDING,
                attempts=attempts,
                last_error="the worker sending it stopped before it finished",
                next_attempt_at=now,
            )
        stale = now - dt.timedelta(seconds=settings.MESSAGE_SWEEP_GRACE_SECONDS)
        orphans = _orphans(stale=stale, limit=limit)
        # Lost ones are due now and have no task either.
        requeued = sorted(
            {m.pk for m in lost if m.attempts + 1 < settings.MESSAGE_MAX_ATTEMPTS}
            | set(orphans)
        )
        messages_enqueue(message_ids=requeued)
    return {"lost": len(lost), "requeued": len(requeued)}


class MessageNotResendable(DomainError):
    code = "MESSAGE_NOT_RESENDABLE"
    detail = _(
        "This message is still on its way, or holds a code that was already sent."
    )


def message_resend(*, message: Message, acting_user, reason: str) -> Message:
    """Send a failed (or sent) message again, recorded with who and why.

    Refused for a message still on its way (pending, sending) and for a sent
    sign-in or email code (blanked once sent; the customer asks for a new one).
    """
    now = timezone.now()
    with transaction.atomic():
        current = Message.objects.select_for_update().get(pk=message.pk)
        if current.status in (Status.PENDING, Status.SENDING) or (
            current.status == Status.SENT and current.is_secret
        ):
            raise MessageNotResendable()
        previous = current.status
        Message.objects.filter(pk=current.pk).update(
            status=Status.PENDING, next_attempt_at=now, attempts=0, last_error=""
        )
        tasks.send_message.enqueue(current.pk)
        audit_record(
            acting_user=acting_user,
            action="message.resent",
            target=current,
            reason=reason,
            changes={"status": [previous, Status.PENDING]},
        )
    message.refresh_from_db()
    return message


ERASED_TEXT = "(erased)"


def messages_erase_recipients(*, recipients: Iterable[str], placeholder: str) -> int:
    """Anonymise every message to one of ``recipients`` (an erased customer's
    phone and emails): the recipient becomes ``placeholder``, the subject, the
    text and the provider's last error go; how many rows.

    A message still on its way is cancelled (``failed``, "the recipient was
    erased"): the worker's claim is a conditional UPDATE of a pending row, so
    it is not sent after this commits. One being handed to the provider at that
    moment (``sending``) may still arrive; its row is anonymised all the same.
    The rows stay: the back office's counts of messages sent stay right.
    """
    recipients = sorted({recipient for recipient in recipients if recipient})
    if not recipients:
        return 0
    theirs = Message.objects.filter(recipient__in=recipients)
    theirs.filter(status__in=[Status.PENDING, Status.SENDING]).update(
        status=Status.FAILED, last_error="Cancelled: the recipient was erased."
    )
    theirs.exclude(last_error="Cancelled: the recipient was erased.").update(
        last_error=""
    )
    return theirs.update(
        recipient=placeholder, subject="", body=ERASED_TEXT, html_body=""
    )
