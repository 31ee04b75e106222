"""Delivering: retried with backoff after a failure, sent once per attempt even
with a duplicate task, never to an address on the inside."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from couponsite.testing.tasks import run_queued_tasks, wait_for, worker_thread
from vouchers.services import voucher_void
from vouchers.tests.factories import VoucherFactory
from webhooks import transport
from webhooks.events import EventType
from webhooks.models import Attempt, Delivery
from webhooks.tasks import deliver, deliveries_resume
from webhooks.tests.receiver import receiver
from webhooks.tests.support import endpoint_for, received_events


@pytest.mark.django_db(transaction=True)
def test_a_500_is_tried_again_after_a_backoff_and_then_delivered(settings):
    # given a receiver that fails the first call, and a short backoff
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_BACKOFF_BASE_SECONDS = 0.2
    with receiver(statuses=[500]) as served:
        endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
        voucher_void(voucher=VoucherFactory(), acting_user=None, reason="fraud")
        delivery = Delivery.objects.get()

        # when the real worker runs beside the test
        with worker_thread():
            wait_for(
                lambda: Delivery.objects.filter(
                    pk=delivery.pk, status=Delivery.Status.DELIVERED
                ).exists()
            )

        # then two attempts, the same event signed each time
        events = received_events(served, endpoint)
    assert [e["type"] for e in events] == ["voucher.voided"] * 2
    assert events[0]["id"] == events[1]["id"]
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 200
    attempts = list(Attempt.objects.filter(delivery=delivery))
    assert [a.status_code for a in attempts] == [500, 200]
    assert attempts[0].response_excerpt == "boom"
    assert attempts[1].started_at - attempts[0].started_at >= dt.timedelta(seconds=0.2)


@pytest.mark.django_db
def test_a_failure_waits_for_its_backoff_and_fails_after_a_day(served, settings):
    served.statuses[:] = [503, 503]
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")

    run_queued_tasks()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(seconds=25)
    assert run_queued_tasks() == 0  # not due yet

    # a day later the last attempt fails for good
    Delivery.objects.update(retry_until=timezone.now())
    deliver.call(delivery.pk, 1)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2
    assert delivery.last_status_code == 503
    assert len(received_events(served, endpoint)) == 2


@pytest.mark.django_db
def test_a_duplicate_task_does_not_send_again(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")
    delivery = Delivery.objects.get()
    deliver.enqueue(delivery.pk, 0)  # the same attempt, queued twice

    run_queued_tasks()

    assert len(received_events(served, endpoint)) == 1
    assert Attempt.objects.count() == 1
    assert deliver.call(delivery.pk, 0) == "skipped"


@pytest.mark.django_db
def test_loopback_is_refused_without_the_setting(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    with receiver() as served:
        endpoint_for(served, EventType.VOUCHER_VOIDED)  # saved past the form
        voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")

        run_queued_tasks()

        assert served.received() == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "loopback" in delivery.last_error
    assert delivery.last_error.startswith("Refused")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
    ],
)
def test_addresses_on_the_inside_are_refused(address):
    assert transport.address_refusal(address)


def test_public_addresses_are_allowed():
    assert transport.address_refusal("93.184.215.14") is None
    assert transport.address_refusal("2606:4700::1111") is None


def test_only_http_urls_are_called():
    with pytest.raises(transport.TargetRefused):
        transport.target_check("ftp://example.com/", allow_private=True)
    with pytest.raises(transport.TargetRefused, match="loopback"):
        transport.target_check("http://localhost:9/", allow_private=False)


@pytest.mark.django_db
def test_a_delivery_whose_task_was_lost_is_resumed_by_the_schedule(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")
    DBTaskResult.objects.all().delete()  # e.g. a worker stopped while sending
    Delivery.objects.update(
        created_at=timezone.now() - dt.timedelta(minutes=6),
        sending_until=timezone.now() - dt.timedelta(seconds=1),
    )

    assert deliveries_resume.call() == 1
    run_queued_tasks()

    assert len(received_events(served, endpoint)) == 1
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    assert deliveries_resume.call() == 0
