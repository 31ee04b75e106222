# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""The customers' back office follows the browser's language (issue 16): a
customer's page, its story and buttons, the list's columns and actions, in
Traditional Chinese; English stays the default. Assumes compiled catalogues
(``scripts/bootstrap`` compiles them)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import EmailVerification, OneTimeCode
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def blocked_customer(admin_user):
    now = timezone.now()
    customer = CustomerFactory(email="ann@example.com")
    customer.blocked_at = now
    customer.blocked_reason = "fraud ring"
    customer.blocked_by = admin_user
    customer.save()
    OneTimeCode.objects.create(
        phone=customer.phone, code_hash="x", sent_at=now, expires_at=now
    )
    EmailVerification.objects.create(
        customer=customer,
        email="new@example.com",
        code_hash="x",
        sent_at=now,
        expires_at=now,
    )
    return customer


def test_a_customers_page_in_traditional_chinese(admin_client, blocked_customer):
    page = admin_client.get(
        reverse("admin:customers_customer_change", args=[blocked_customer.pk]),
        HTTP_ACCEPT_LANGUAGE="zh-hant",
    ).content.decode()

    assert "修改 顧客" in page  # the model's name
    assert "封鎖原因" in page  # a field's label
    assert "解除封鎖" in page  # the Unblock button
    assert "刪除這位顧客" in page  # Erase this customer
    assert "起由 admin 封鎖：fraud ring" in page  # the blocked note
    assert "顧客歷程" in page  # Their story
    assert "已傳送的電郵驗證碼" in page  # a story panel's title
    assert "輸入錯誤次數" in page  # its column
    assert "Their story" not in page
    assert "Erase this customer" not in page


def test_the_customer_list_and_its_actions_in_traditional_chinese(
    admin_client, blocked_customer
):
    page = admin_client.get(
        reverse("admin:customers_customer_changelist"),
        HTTP_ACCEPT_LANGUAGE="zh-hant",
    ).content.decode()

    assert "封鎖所選顧客，不得參加活動" in page  # the Block action
    assert "任何寫法的電話號碼" in page  # the search help
    assert "未封鎖" in page  # the blocked filter's choice
    assert "Block selected customers" not in page


def test_the_reason_page_of_block_in_traditional_chinese(admin_client):
    customer = CustomerFactory()

    page = admin_client.get(
        reverse("admin:customers_customer_block", args=[customer.pk, "block"]),
        HTTP_ACCEPT_LANGUAGE="zh-hant",
    ).content.decode()

    assert "封鎖這位顧客，不得參加活動" in page
    assert "CUSTOMER_BLOCKED" in page  # codes stay


def test_english_stays_the_default(admin_client, blocked_customer):
    page = admin_client.get(
        reverse("admin:customers_customer_change", args=[blocked_customer.pk])
    ).content.decode()

    assert "Their story" in page
    assert "Erase this customer" in page
    assert "Blocked reason" in page
