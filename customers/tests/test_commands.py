from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from customers.models import Customer

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_issue_token_for_new_phone_creates_customer():
    token = _run("issue_token", "--phone", "+1 415 555 0150").strip()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["phone"] == "+14155550150"
    assert Customer.objects.count() == 1


def test_issue_token_for_staff_creates_passwordless_staff_user():
    token = _run("issue_token", "--staff", "loadtest").strip()

    user = get_user_model().objects.get(username="loadtest")
    assert user.is_staff
    assert not user.has_usable_password()
    assert user.api_tokens.get().prefix == token[:8]


def test_issue_token_rejects_bad_phone():
    with pytest.raises(CommandError):
        _run("issue_token", "--phone", "12")


def test_seed_demo_is_idempotent_and_prints_credentials():
    first = _run("seed_demo")
    second = _run("seed_demo")

    assert Customer.objects.count() == 10
    assert set(Customer.objects.values_list("email", flat=True)) == {
        f"customer{n}@gmail.com" for n in range(1, 11)
    }
    password = next(
        line.split(":", 1)[1].strip()
        for line in second.splitlines()
        if "Admin password" in line
    )
    assert "Admin password" in first
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)


def test_seed_demo_prints_the_address_the_server_will_have(monkeypatch):
    monkeypatch.setenv("BIND", "127.0.0.1:8101")

    out = _run("seed_demo")

    assert "http://127.0.0.1:8101/admin/" in out
    assert ":8000" not in out
