"""Seed 001's generate emails each customer their code: queued with the vouchers
in the request's transaction, rendered and sent by the task worker."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from couponsite.codes import display_code
from messaging.models import Message
from messaging.tests.support import mail_sent
from vouchers.models import Voucher
from vouchers.services import vouchers_generate
from vouchers.tasks import EMAIL_CHUNK, send_voucher_emails

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/vouchers"
EXPIRES = dt.datetime(2099, 1, 31, 22, 59, tzinfo=dt.UTC)


def _generate(client, **body):
    payload = {
        "offer_name": "Winter Sale",
        "discount": "22.1",
        "expires_at": EXPIRES.isoformat(),
    }
    payload.update(body)
    return client.post(URL, payload, format="json")


def _voucher_tasks() -> int:
    return DBTaskResult.objects.filter(
        task_path="vouchers.tasks.send_voucher_emails"
    ).count()


def test_each_customer_gets_their_own_code_with_the_offer_and_expiry(staff_client):
    response = _generate(staff_client, emails=["ann@x.com", "bob@x.com"])

    assert response.status_code == 201
    assert response.json()["emails_queued"] == 2
    assert mail.outbox == []  # nothing is sent inside the request
    sent = {email.to[0]: email for email in mail_sent()}
    assert set(sent) == {"ann@x.com", "bob@x.com"}
    for voucher in Voucher.objects.all():
        email = sent[voucher.email]
        code = display_code(voucher.code)
        assert email.subject == "Your 22.1% voucher from Couponsite"
        assert code in email.body
        assert "Winter Sale" in email.body
        assert "Jan 31, 2099, 10:59 PM UTC" in email.body
        [(html, mimetype)] = email.alternatives
        assert mimetype == "text/html"
        assert code in html and "22.1% off" in html
    assert Message.objects.filter(kind="voucher_code", status="sent").count() == 2


def test_a_code_goes_only_to_its_own_address(staff_client):
    _generate(staff_client, emails=["ann@x.com", "bob@x.com"])

    codes = {v.email: display_code(v.code) for v in Voucher.objects.all()}
    for email in mail_sent():
        [others] = [c for e, c in codes.items() if e != email.to[0]]
        assert others not in email.body


def test_a_customer_who_owns_the_email_is_not_asked_to_sign_in(staff_client):
    from customers.tests.factories import CustomerFactory

    CustomerFactory(email="ann@x.com")
    _generate(staff_client, emails=["ann@x.com", "new@x.com"])

    bodies = {email.to[0]: email.body for email in mail_sent()}
    assert "Sign in with this email" not in bodies["ann@x.com"]
    assert "Sign in with this email" in bodies["new@x.com"]


def test_send_emails_false_queues_nothing(staff_client):
    response = _generate(staff_client, email="ann@x.com", send_emails=False)

    assert response.status_code == 201
    assert response.json()["emails_queued"] == 0
    assert _voucher_tasks() == 0
    assert mail_sent() == []


def test_send_emails_must_be_a_boolean(staff_client):
    response = _generate(staff_client, email="ann@x.com", send_emails="perhaps")

    assert response.status_code == 400
    assert Voucher.objects.count() == 0


def test_a_generation_that_rolls_back_emails_no_one():
    with pytest.raises(RuntimeError), transaction.atomic():
        vouchers_generate(
            emails=["ann@x.com"],
            offer_name="Winter Sale",
            discount=Decimal(10),
            expires_at=EXPIRES,
            acting_user=None,
            send_emails=True,
        )
        raise RuntimeError("the caller's next step failed")

    assert _voucher_tasks() == 0
    assert mail_sent() == []


def test_ten_thousand_emails_are_queued_in_bulk_not_sent_in_the_request(
    staff_client, django_assert_max_num_queries
):
    emails = [f"c{n}@x.com" for n in range(10_000)]

    with django_assert_max_num_queries(60):
        response = _generate(staff_client, emails=emails)

    assert response.status_code == 201
    assert response.json()["emails_queued"] == 10_000
    assert _voucher_tasks() == 10_000 // EMAIL_CHUNK
    assert Message.objects.count() == 0  # rendered by the worker, not the request
    assert mail.outbox == []
    # One chunk's task, as the worker runs it: its thousand emails queued at once.
    first = DBTaskResult.objects.filter(
        task_path="vouchers.tasks.send_voucher_emails"
    ).earliest("enqueued_at")
    [ids] = first.args_kwargs["args"]
    with django_assert_max_num_queries(30):
        assert send_voucher_emails.call(ids) == EMAIL_CHUNK
    queued = Message.objects.filter(kind="voucher_code", status="pending")
    assert queued.count() == EMAIL_CHUNK
    assert set(queued.values_list("recipient", flat=True)) == set(
        Voucher.objects.filter(pk__in=ids).values_list("email", flat=True)
    )


def test_the_admin_page_emails_by_default_and_says_so(admin_client):
    url = reverse("admin:vouchers_offer_generate")
    form = admin_client.get(url).context["form"]
    assert form["send_emails"].initial is True

    response = admin_client.post(
        url,
        {
            "offer_name": "Winter Sale",
            "discount": "10",
            "expires_at": "2099-01-01 00:00",
            "emails_csv": SimpleUploadedFile("e.csv", b"email\nann@x.com\nbob@x.com\n"),
            "send_emails": "on",
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert sorted(email.to[0] for email in mail_sent()) == ["ann@x.com", "bob@x.com"]


def test_the_command_emails_unless_told_not_to(tmp_path):
    emails_file = tmp_path / "emails.csv"
    emails_file.write_text("ann@x.com\n")
    common = {
        "offer": "Winter Sale",
        "discount": "10",
        "expires": (timezone.now() + dt.timedelta(days=9)).date().isoformat(),
        "emails_file": str(emails_file),
        "output": str(tmp_path / "out.csv"),
    }

    call_command("generate_vouchers", **common, no_emails=True)
    assert mail_sent() == []

    call_command("generate_vouchers", **common)
    assert [email.to[0] for email in mail_sent()] == ["ann@x.com"]
