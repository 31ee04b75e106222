"""Sending a delivery: one attempt per task, the next one enqueued with backoff."""

import datetime as dt
import json

from crontask import cron
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from couponsite.background.backoff import backoff_delay
from webhooks import transport
from webhooks.models import Attempt, Delivery
from webhooks.retention import webhooks_purge
from webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

USER_AGENT = "Couponsite-Webhooks/1"
# A pending delivery this late, and not being sent, has lost its task.
STALLED_AFTER = dt.timedelta(minutes=5)


@task(queue_name="webhooks")
def deliver(delivery_id: int, after_attempts: int = 0) -> str:
    """Attempt delivery ``delivery_id`` once, if it still waits for the attempt
    after ``after_attempts`` (a duplicate or superseded task does nothing)."""
    return delivery_attempt(delivery_id=delivery_id, after_attempts=after_attempts)


def delivery_enqueue(
    delivery: Delivery, *, run_after: dt.datetime | None = None
) -> None:
    """Enqueue the next attempt of ``delivery`` (in the caller's transaction)."""
    queued = deliver.using(run_after=run_after) if run_after else deliver
    queued.enqueue(delivery.pk, delivery.attempts)


def event_body(event) -> bytes:
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "created": event.created_at.isoformat(),
            "data": event.payload,
        },
        separators=(",", ":"),
    ).encode()


def delivery_attempt(*, delivery_id: int, after_attempts: int) -> str:
    """One attempt: claimed first, so two workers never send a delivery at once.

    The claim is a conditional UPDATE (still pending, still at
    ``after_attempts`` attempts, not being sent): a duplicate task, or one
    left from before a "send again", matches nothing and stops. A worker that
    died while sending leaves the claim to lapse after the timeout.
    2xx: delivered. Anything else (or no answer): recorded, and tried again
    after ``backoff_delay`` until ``retry_until``, then failed. A target the
    SSRF guard refuses fails at once.
    """
    now = timezone.now()
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    claimed = (
        Delivery.objects.filter(
            pk=delivery_id, status=Delivery.Status.PENDING, attempts=after_attempts
        )
        .exclude(sending_until__gt=now)
        .update(sending_until=now + dt.timedelta(seconds=2 * timeout + 30))
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    body = event_body(event)
    started_at = timezone.now()
    if not endpoint.active:
        answer = transport.Answer(None, "", "The endpoint is not active.", 0)
        final = True
    else:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: str(event.id),
            EVENT_TYPE_HEADER: event.type,
            SIGNATURE_HEADER: signature_header(
                secret=endpoint.secret,
                timestamp=int(started_at.timestamp()),
                body=body,
            ),
        }
        try:
            answer = transport.post(
                endpoint.url, body=body, headers=headers, timeout=timeout
            )
            final = False
        except transport.TargetRefused as refused:
            answer = transport.Answer(None, "", f"Refused: {refused}"[:500], 0)
            final = True
    return _record(delivery, answer, started_at=started_at, final=final)


def _record(
    delivery: Delivery, answer: transport.Answer, *, started_at, final: bool
) -> str:
    now = timezone.now()
    attempts = delivery.attempts + 1
    ok = answer.status_code is not None and 200 <= answer.status_code < 300
    update = {
        "attempts": F("attempts") + 1,
        "sending_until": None,
        "last_status_code": answer.status_code,
        "last_error": answer.error,
        "next_attempt_at": None,
    }
    if ok:
        update |= {"status": Delivery.Status.DELIVERED, "delivered_at": now}
    elif final or now >= delivery.retry_until:
        update["status"] = Delivery.Status.FAILED
    else:
        wait = backoff_delay(
            attempts,
            base_seconds=settings.WEBHOOKS_BACKOFF_BASE_SECONDS,
            cap_seconds=settings.WEBHOOKS_BACKOFF_CAP_SECONDS,
        )
        update["next_attempt_at"] = min(now + wait, delivery.retry_until)
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            started_at=started_at,
            duration_ms=answer.duration_ms,
            status_code=answer.status_code,
            response_excerpt=answer.excerpt,
            error=answer.error,
        )
        Delivery.objects.filter(pk=delivery.pk).update(**update)
        if update.get("next_attempt_at"):
            delivery.attempts = attempts
            delivery_enqueue(delivery, run_after=update["next_attempt_at"])
    return update.get("status", "retrying")


@cron("*/5 * * * *")
@task(queue_name="jobs")
def deliveries_resume() -> int:
    """Every 5 minutes: enqueue again the deliveries whose task was lost."""
    return deliveries_stalled_enqueue()


def deliveries_stalled_enqueue(*, now: dt.datetime | None = None) -> int:
    """Enqueue the next attempt of each pending delivery that is overdue by
    ``STALLED_AFTER`` and not being sent (its task was lost: a worker stopped
    while sending, a task row deleted); how many. Idempotent: a task that was
    only late meets the claim, and does nothing."""
    now = now or timezone.now()
    late = now - STALLED_AFTER
    stalled = (
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .filter(
            Q(next_attempt_at__lt=late)
            | Q(next_attempt_at__isnull=True, created_at__lt=late)
        )
        .exclude(sending_until__gt=now)
        .only("id", "attempts")
    )
    count = 0
    with transaction.atomic():
        for delivery in stalled[:1000]:
            delivery_enqueue(delivery)
            count += 1
    return count


@cron("40 4 * * *")
@task(queue_name="jobs")
def purge_webhook_deliveries() -> dict[str, int]:
    """Daily, 04:40: drop the finished deliveries (and events left with none)
    past ``RETENTION_WEBHOOK_DELIVERIES``; pending ones stay."""
    return webhooks_purge()
