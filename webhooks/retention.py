"""Webhook deliveries and events kept ``RETENTION_WEBHOOK_DELIVERIES``, then purged.

A delivery is the log of one event told to one endpoint (its attempts, answers,
errors): staff read it to see what the retailer's systems were told and when,
and "send again" a failed one. Once that is old news it goes, with its
attempts; a delivery still pending (being tried, or waiting for its next try)
never goes, however old. An event goes once no delivery of it is left.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from couponsite.retention import purge_in_batches
from webhooks.models import Delivery, Event


def _cutoff(now: dt.datetime | None) -> dt.datetime:
    return (now or timezone.now()) - settings.RETENTION_WEBHOOK_DELIVERIES


def webhook_deliveries_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the delivered and failed deliveries made before the retention
    (and their attempts); how many. Pending ones stay."""
    expired = Delivery.objects.filter(created_at__lt=_cutoff(now)).exclude(
        status=Delivery.Status.PENDING
    )
    return purge_in_batches(expired, kind="webhook_deliveries")


def webhook_events_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the events made before the retention with no delivery left; how many."""
    expired = Event.objects.filter(created_at__lt=_cutoff(now), deliveries__isnull=True)
    return purge_in_batches(expired, kind="webhook_events")


def webhooks_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The deliveries past their time, then the events left with none."""
    return {
        "webhook_deliveries": webhook_deliveries_purge(now=now),
        "webhook_events": webhook_events_purge(now=now),
    }
