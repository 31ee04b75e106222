"""Webhook deliveries go ``RETENTION_WEBHOOK_DELIVERIES`` after they were made,
with their attempts, unless still pending; events go once no delivery is left."""

import datetime as dt
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import webhooks.tasks
from couponsite.testing.tasks import run_queued_tasks
from webhooks.models import Attempt, Delivery, Endpoint, Event
from webhooks.retention import webhook_deliveries_purge, webhooks_purge

pytestmark = pytest.mark.django_db


def _delivery(endpoint, *, age: dt.timedelta, status: str, event=None) -> Delivery:
    at = timezone.now() - age
    event = event or Event.objects.create(
        type="voucher.redeemed", payload={}, created_at=at
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        status=status,
        retry_until=at + dt.timedelta(days=1),
        created_at=at,
    )
    Attempt.objects.create(delivery=delivery, started_at=at, duration_ms=5)
    return delivery


@pytest.fixture
def endpoint():
    return Endpoint.objects.create(url="https://example.com/hook", events=["x"])


def test_finished_deliveries_past_the_setting_go_pending_ones_stay(settings, endpoint):
    settings.RETENTION_WEBHOOK_DELIVERIES = dt.timedelta(days=30)
    Status = Delivery.Status
    old_delivered = _delivery(
        endpoint, age=dt.timedelta(days=31), status=Status.DELIVERED
    )
    old_failed = _delivery(endpoint, age=dt.timedelta(days=60), status=Status.FAILED)
    old_pending = _delivery(endpoint, age=dt.timedelta(days=90), status=Status.PENDING)
    new_delivered = _delivery(
        endpoint, age=dt.timedelta(days=29), status=Status.DELIVERED
    )
    # An old event with a delivery still pending at a second endpoint stays.
    other = Endpoint.objects.create(url="https://example.com/other", events=["x"])
    shared = _delivery(endpoint, age=dt.timedelta(days=40), status=Status.DELIVERED)
    _delivery(
        other, age=dt.timedelta(days=40), status=Status.PENDING, event=shared.event
    )

    result = webhooks.tasks.purge_webhook_deliveries.enqueue()
    assert run_queued_tasks() == 1

    assert webhooks.tasks.purge_webhook_deliveries.get_result(
        result.id
    ).return_value == {"webhook_deliveries": 3, "webhook_events": 2}
    kept = set(Delivery.objects.values_list("pk", flat=True))
    assert old_pending.pk in kept
    assert new_delivered.pk in kept
    assert old_delivered.pk not in kept and old_failed.pk not in kept
    assert shared.pk not in kept
    assert not Attempt.objects.filter(delivery__in=[old_delivered, old_failed]).exists()
    assert Attempt.objects.count() == 3
    assert set(Event.objects.values_list("pk", flat=True)) == {
        old_pending.event_id,
        new_delivered.event_id,
        shared.event_id,
    }
    # Twice is harmless.
    assert webhooks_purge() == {"webhook_deliveries": 0, "webhook_events": 0}


def test_deliveries_are_purged_in_bounded_batches(settings, endpoint):
    settings.RETENTION_WEBHOOK_DELIVERIES = dt.timedelta(days=30)
    settings.RETENTION_BATCH_SIZE = 2
    for _ in range(5):
        _delivery(endpoint, age=dt.timedelta(days=31), status=Delivery.Status.DELIVERED)

    with CaptureQueriesContext(connection) as queries:
        assert webhook_deliveries_purge() == 5

    deletes = [q["sql"] for q in queries if q["sql"].upper().startswith("DELETE FROM")]
    assert sum('"webhooks_delivery"' in sql for sql in deletes) == math.ceil(5 / 2)
    assert sum('"webhooks_attempt"' in sql for sql in deletes) == math.ceil(5 / 2)
    assert not Delivery.objects.exists()
