"""Messages to customers: queued with the effect, sent by the worker, retried,
swept, sent again from the back office, never sent twice."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from couponsite import sms
from couponsite.models import AuditEntry
from couponsite.roles import ANALYST, SUPPORT
from couponsite.sms.backends import BaseBackend
from couponsite.testing import race
from couponsite.testing.tasks import run_queued_tasks, wait_for, worker_thread
from couponsite.tests.roles_support import staff_in
from messaging import services, tasks
from messaging.models import Message
from messaging.services import OutgoingEmail, queue_email, queue_sms

pytestmark = [pytest.mark.postgres]

PHONE = "+14155550123"
FAILING = "messaging.tests.test_messages.FailingBackend"
MESSAGES = reverse("admin:messaging_message_changelist")


class ProviderDown(Exception):
    pass


class FailingBackend(BaseBackend):
    """An SMS provider that refuses every message."""

    def send_messages(self, messages) -> int:
        raise ProviderDown("503 from the provider")


@pytest.mark.django_db
def test_a_message_queued_in_a_rolled_back_transaction_never_goes_out():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_sms(to=PHONE, body="You won!", kind="win_notice")
        queue_email(to="a@example.com", subject="Hi", text="You won!", kind="x")
        raise RuntimeError("the effect failed after queueing")

    assert run_queued_tasks() == 0
    assert not Message.objects.exists() and not DBTaskResult.objects.exists()
    assert sms.outbox == [] and mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_code_reaches_the_phone_only_through_the_worker(api_client):
    # when a customer asks for a code
    answer = api_client.post("/api/v1/auth/otp", {"phone": PHONE}, format="json")

    # then the request committed the message and its task, and sent nothing itself
    assert answer.status_code == 202
    assert sms.outbox == []
    (message,) = Message.objects.all()
    assert (message.kind, message.status, message.recipient) == (
        "sign_in_code",
        "pending",
        PHONE,
    )

    # and a real worker sends it
    with worker_thread():
        (text,) = wait_for(lambda: list(sms.outbox))
    assert text.to == PHONE and re.search(r"\b\d{6}\b", text.body)
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 1
    # the code is blanked in the row once sent: nobody needs it again
    assert not re.search(r"\d{4,}", message.body)


@pytest.mark.django_db
def test_a_failing_provider_is_retried_with_backoff_then_the_message_fails(settings):
    settings.SMS_BACKEND = FAILING
    settings.MESSAGE_MAX_ATTEMPTS = 3
    settings.MESSAGE_RETRY_BASE_SECONDS = 30
    message = queue_sms(to=PHONE, body="You won!", kind="win_notice")
    start = timezone.now()

    # first attempt: fails, waits about 30 s (up to 10 % jitter)
    assert run_queued_tasks() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "ProviderDown: 503 from the provider" in message.last_error
    first_wait = message.next_attempt_at - start
    assert dt.timedelta(seconds=29) < first_wait < dt.timedelta(seconds=34)
    assert run_queued_tasks() == 0  # not due yet

    # second attempt, once the backoff passed: waits about 60 s
    with time_machine.travel(message.next_attempt_at + dt.timedelta(seconds=1)):
        assert run_queued_tasks() == 1
        second_start = timezone.now()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 2)
    second_wait = message.next_attempt_at - second_start
    assert dt.timedelta(seconds=58) < second_wait < dt.timedelta(seconds=67)

    # third and last attempt: failed, and nothing left on the queue for it
    with time_machine.travel(message.next_attempt_at + dt.timedelta(seconds=1)):
        assert run_queued_tasks() == 1
        assert run_queued_tasks() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert sms.outbox == []
    later = message.next_attempt_at + dt.timedelta(days=1)
    with time_machine.travel(later):
        assert run_queued_tasks() == 0
        assert services.messages_sweep() == {"lost": 0, "requeued": 0}


def _failed_message(settings) -> Message:
    settings.SMS_BACKEND = FAILING
    settings.MESSAGE_MAX_ATTEMPTS = 1
    message = queue_sms(to=PHONE, body="You won a coupon!", kind="win_notice")
    run_queued_tasks()
    message.refresh_from_db()
    assert message.status == "failed"
    settings.SMS_BACKEND = "locmem"
    return message


def _send_again(client, messages, reason="The provider is back"):
    return client.post(
        MESSAGES,
        {
            "action": "message_resend",
            "_selected_action": [m.pk for m in messages],
            "apply": "1",
            "reason": reason,
        },
    )


@pytest.mark.django_db
def test_send_again_from_the_back_office_sends_it_and_records_who_and_why(
    settings, client
):
    # given a failed message, and the provider back
    message = _failed_message(settings)
    support = staff_in(SUPPORT)
    client.force_login(support)

    # the failed ones are one filter away, and the action asks why first
    listed = client.get(MESSAGES, {"status__exact": "failed"})
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [message]
    asked = client.post(
        MESSAGES, {"action": "message_resend", "_selected_action": [message.pk]}
    )
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    message.refresh_from_db()
    assert message.status == "failed"

    # when Support sends it again
    answer = _send_again(client, [message])

    # then it is queued, recorded, and the worker sends it
    assert answer.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("pending", 0, "")
    (entry,) = AuditEntry.objects.filter(action="message.resent")
    assert entry.acting_user == support and entry.reason == "The provider is back"
    assert entry.target_id == str(message.pk)
    assert run_queued_tasks() == 1
    assert [m.body for m in sms.outbox] == ["You won a coupon!"]
    message.refresh_from_db()
    assert message.status == "sent"

    # and a message still on its way is refused, changing nothing
    waiting = queue_sms(to=PHONE, body="later", kind="win_notice")
    _send_again(client, [waiting])
    assert AuditEntry.objects.filter(action="message.resent").count() == 1


@pytest.mark.django_db
def test_an_analyst_reads_messages_but_may_not_send_them_again(settings, client):
    message = _failed_message(settings)
    client.force_login(staff_in(ANALYST))

    assert client.get(MESSAGES).status_code == 200
    _send_again(client, [message])

    message.refresh_from_db()
    assert message.status == "failed"
    assert not AuditEntry.objects.exists()
    assert Group.objects.get(name=SUPPORT).permissions.filter(codename="resend_message")


@pytest.mark.django_db
def test_staff_never_read_a_sign_in_code(admin_client):
    message = queue_sms(
        to=PHONE, body="Your Couponsite code is 123456. It expires", kind="sign_in_code"
    )
    win = queue_sms(to=PHONE, body="You won! Code 4455-6677", kind="win_notice")

    page = admin_client.get(
        reverse("admin:messaging_message_change", args=[message.pk])
    )
    shown = admin_client.get(reverse("admin:messaging_message_change", args=[win.pk]))

    assert page.status_code == 200 and "123456" not in page.content.decode()
    assert "Your Couponsite code is ••••••" in page.content.decode()
    assert "4455-6677" in shown.content.decode()  # a coupon code staff may see


@pytest.mark.django_db(transaction=True)
def test_racing_workers_send_a_message_once():
    # given a committed message with its task, and a duplicate task for it
    message = queue_sms(to=PHONE, body="You won!", kind="win_notice")
    tasks.send_message.enqueue(message.pk)

    # when many threads deliver it at once (each its own connection)
    outcomes = race(lambda _: services.message_deliver(message_id=message.pk), 12)

    # then exactly one sent it
    assert outcomes.count("sent") == 1 and outcomes.count("skipped") == 11
    assert len(sms.outbox) == 1
    # and two real workers running both tasks send nothing more
    with worker_thread(worker_id="a"), worker_thread(worker_id="b"):
        wait_for(lambda: not DBTaskResult.objects.ready().exists())
    assert len(sms.outbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_the_sweeper_requeues_what_was_left_behind_once(settings):
    settings.MESSAGE_SWEEP_GRACE_SECONDS = 60
    now = timezone.now()
    # a message committed without a task (its process died before enqueueing)
    orphan = Message.objects.create(
        channel="sms",
        recipient=PHONE,
        body="orphan",
        kind="win_notice",
        next_attempt_at=now - dt.timedelta(minutes=5),
    )
    # a fresh one whose task is about to be enqueued: left alone
    fresh = Message.objects.create(
        channel="sms", recipient=PHONE, body="fresh", kind="win_notice"
    )
    # one a worker died sending (lease over)
    lost = Message.objects.create(
        channel="sms",
        recipient=PHONE,
        body="lost",
        kind="win_notice",
        status="sending",
        next_attempt_at=now - dt.timedelta(seconds=1),
    )
    # one with its task waiting (a queue that is behind): left alone
    queued = queue_sms(to=PHONE, body="queued", kind="win_notice")
    Message.objects.filter(pk=queued.pk).update(
        next_attempt_at=now - dt.timedelta(minutes=5)
    )

    assert services.messages_sweep(now=now) == {"lost": 1, "requeued": 2}
    assert services.messages_sweep(now=now) == {"lost": 0, "requeued": 0}

    lost.refresh_from_db()
    assert (lost.status, lost.attempts) == ("pending", 1)
    assert "stopped" in lost.last_error
    run_queued_tasks()
    assert sorted(m.body for m in sms.outbox) == ["lost", "orphan", "queued"]
    fresh.refresh_from_db()
    assert fresh.status == "pending"
    orphan.refresh_from_db()
    assert orphan.status == "sent"


@pytest.mark.django_db
def test_the_sweep_is_a_scheduled_job_on_the_jobs_queue():
    from crontask import scheduler

    (job,) = [j for j in scheduler.get_jobs() if j.name == tasks.sweep_messages.name]
    assert str(job.trigger).startswith("cron[month='*', day='*'")
    assert "minute='*'" in str(job.trigger)
    assert tasks.sweep_messages.queue_name == "jobs"
    assert tasks.sweep_messages.call() == {"lost": 0, "requeued": 0}


@pytest.mark.django_db
def test_ten_thousand_emails_are_queued_in_bulk(
    settings, django_assert_max_num_queries
):
    settings.MESSAGE_BULK_CHUNK = 1000
    emails = [
        OutgoingEmail(
            to=f"c{n}@example.com",
            subject="Your voucher",
            text=f"Voucher {n}",
            html=f"<p>Voucher {n}</p>",
            kind="voucher_code",
        )
        for n in range(10_000)
    ]

    with django_assert_max_num_queries(40):
        created = services.queue_emails_in_bulk(emails)

    assert len(created) == 10_000 and all(m.pk for m in created)
    assert Message.objects.filter(status="pending").count() == 10_000
    assert DBTaskResult.objects.count() == 10
    settings.MESSAGE_BULK_CHUNK = 100


@pytest.mark.django_db
def test_bulk_emails_go_out_with_their_html(settings):
    settings.MESSAGE_BULK_CHUNK = 2
    services.queue_emails_in_bulk(
        [
            OutgoingEmail(
                to=f"c{n}@example.com",
                subject="Your voucher",
                text=f"Voucher {n}",
                html=f"<p>Voucher {n}</p>",
                kind="voucher_code",
            )
            for n in range(3)
        ]
    )

    assert DBTaskResult.objects.count() == 2
    assert run_queued_tasks() == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    first = next(m for m in mail.outbox if m.to == ["c0@example.com"])
    assert first.body == "Voucher 0"
    assert first.alternatives[0][0] == "<p>Voucher 0</p>"
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_the_start_page_shows_the_background_work(settings, admin_client):
    _failed_message(settings)
    queue_sms(to=PHONE, body="waiting", kind="win_notice")

    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "Background work" in page
    assert f"{MESSAGES}?status__exact=failed" in page
    panel = page[page.index('id="background-work"') :]
    assert re.search(r"messages waiting</th><td><a [^>]*>1</a>", panel)
    assert re.search(r"messages failed</th><td><a [^>]*><strong>1</strong>", panel)


@pytest.mark.django_db
def test_a_failed_task_is_one_click_from_the_start_page(admin_client):
    failing = tasks.send_message.enqueue(0)
    DBTaskResult.objects.filter(pk=failing.id).update(status="FAILED")

    page = admin_client.get(reverse("admin:index")).content.decode()

    results = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    assert f'href="{results}?status__exact=FAILED"><strong>1 failed</strong>' in page
