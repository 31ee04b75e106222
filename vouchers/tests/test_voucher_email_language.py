# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""The language of a voucher email: the customer's saved one, else the sender's
choice (the generate call's or page's ``language``), which defaults to the
request's (the API's Accept-Language, the employee's back office language)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from couponsite.codes import display_code
from customers.tests.factories import CustomerFactory
from messaging.tests.support import mail_sent
from vouchers.models import Voucher
from vouchers.tasks import send_voucher_emails

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/vouchers"
ADMIN_URL = reverse("admin:vouchers_offer_generate")
EXPIRES = dt.datetime(2099, 1, 31, 22, 59, tzinfo=dt.UTC)

ENGLISH = "Your 22.1% voucher from Couponsite"
TRADITIONAL = "Couponsite 送你的 22.1% 優惠券"
SIMPLIFIED = "Couponsite 送你的 22.1% 优惠券"


def _generate(client, headers=None, **body):
    payload = {
        "offer_name": "Winter Sale",
        "discount": "22.1",
        "expires_at": EXPIRES.isoformat(),
        **body,
    }
    return client.post(URL, payload, format="json", **(headers or {}))


def _post_page(client, headers=None, **fields):
    return client.post(
        ADMIN_URL,
        {
            "offer_name": "Winter Sale",
            "discount": "22.1",
            "expires_at": "2099-01-31 22:59",
            "emails_csv": SimpleUploadedFile("e.csv", b"email\nann@x.com\nnew@x.com\n"),
            "send_emails": "on",
            **fields,
        },
        **(headers or {}),
    )


def _subjects() -> dict[str, str]:
    return {email.to[0]: email.subject for email in mail_sent()}


# --- The API ------------------------------------------------------------------------


def test_an_unknown_address_gets_the_email_in_the_language_asked_for(staff_client):
    response = _generate(staff_client, email="new@x.com", language="zh-hant")

    assert response.status_code == 201
    [email] = mail_sent()
    assert email.subject == TRADITIONAL
    code = display_code(Voucher.objects.get().code)
    assert "你好：" in email.body and f"你的優惠碼：{code}" in email.body
    assert "2099年1月31日 下午10:59 UTC" in email.body
    [(html, _mimetype)] = email.alternatives
    assert '<html lang="zh-hant">' in html


def test_without_a_language_the_request_s_language_is_used(staff_client):
    response = _generate(
        staff_client,
        headers={"HTTP_ACCEPT_LANGUAGE": "zh-CN"},
        emails=["new@x.com"],
    )

    assert response.status_code == 201
    with translation.override("en"):  # the worker has no request of its own
        assert _subjects() == {"new@x.com": SIMPLIFIED}


def test_without_a_language_or_accept_language_the_email_is_english(staff_client):
    response = _generate(staff_client, emails=["new@x.com"])

    assert response.status_code == 201
    assert _subjects() == {"new@x.com": ENGLISH}


def test_a_customers_saved_language_wins_over_the_one_asked_for(staff_client):
    CustomerFactory(email="ann@x.com", language="zh-hans")
    CustomerFactory(email="bob@x.com", language="")  # follows each request: no say

    response = _generate(
        staff_client, emails=["ann@x.com", "bob@x.com", "new@x.com"], language="zh-hant"
    )

    assert response.status_code == 201
    assert _subjects() == {
        "ann@x.com": SIMPLIFIED,
        "bob@x.com": TRADITIONAL,
        "new@x.com": TRADITIONAL,
    }


def test_the_language_travels_with_each_queued_chunk(staff_client):
    _generate(
        staff_client,
        headers={"HTTP_ACCEPT_LANGUAGE": "en"},
        emails=["new@x.com"],
        language="zh-hant",
    )

    [queued] = DBTaskResult.objects.filter(
        task_path="vouchers.tasks.send_voucher_emails"
    ).values_list("args_kwargs", flat=True)
    assert queued["kwargs"] == {"language": "zh-hant"}
    [ids] = queued["args"]
    with translation.override("en"):
        assert send_voucher_emails.call(ids, language="zh-hant") == 1


@pytest.mark.parametrize("language", ["fr", "zh-TW", "", None, ["en"]])
def test_a_language_that_is_not_one_of_ours_is_refused(staff_client, language):
    response = _generate(staff_client, email="new@x.com", language=language)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert list(body["fields"]) == ["language"]
    assert not Voucher.objects.exists()
    assert mail_sent() == []


# --- The admin's page ---------------------------------------------------------------


def test_the_page_offers_the_employees_own_language_first(admin_client):
    for accept, language in [("zh-TW", "zh-hant"), ("zh-hans", "zh-hans"), ("", "en")]:
        headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}

        form = admin_client.get(ADMIN_URL, **headers).context["form"]

        assert form["language"].initial == language
        choices = [code for code, _name in form.fields["language"].choices]
        assert choices == ["en", "zh-hant", "zh-hans"]


def test_the_page_emails_unknown_addresses_in_the_language_chosen(admin_client):
    CustomerFactory(email="ann@x.com", language="en")

    response = _post_page(admin_client, language="zh-hant")

    assert response["Content-Type"] == "text/csv"
    assert _subjects() == {"ann@x.com": ENGLISH, "new@x.com": TRADITIONAL}


def test_the_page_without_a_choice_emails_in_the_employees_language(admin_client):
    response = _post_page(admin_client, headers={"HTTP_ACCEPT_LANGUAGE": "zh-hans"})

    assert response["Content-Type"] == "text/csv"
    with translation.override("en"):
        assert set(_subjects().values()) == {SIMPLIFIED}


def test_the_page_refuses_a_language_that_is_not_one_of_ours(admin_client):
    response = _post_page(admin_client, language="fr")

    assert response.status_code == 200
    assert "language" in response.context["form"].errors
    assert not Voucher.objects.exists()


# --- The command --------------------------------------------------------------------


def test_the_command_takes_a_language_for_unknown_addresses(tmp_path):
    emails_file = tmp_path / "emails.csv"
    emails_file.write_text("new@x.com\n")

    call_command(
        "generate_vouchers",
        offer="Winter Sale",
        discount="22.1",
        expires="2099-01-31",
        emails_file=str(emails_file),
        output=str(tmp_path / "out.csv"),
        language="zh-hant",
    )

    assert _subjects() == {"new@x.com": TRADITIONAL}
