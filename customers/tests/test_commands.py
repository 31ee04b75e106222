from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import ApiToken, Customer

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


def test_issue_token_lifetimes(settings):
    settings.TOKEN_TTL_SECONDS = 3600
    settings.STAFF_TOKEN_TTL_SECONDS = 7200
    now = timezone.now()

    _run("issue_token", "--phone", "+14155550150")
    _run("issue_token", "--staff", "loadtest")
    _run("issue_token", "--phone", "+14155550151", "--ttl", "12h")

    customer, staff, chosen = ApiToken.objects.order_by("pk")
    assert abs(customer.expires_at - now - timedelta(hours=1)) < timedelta(minutes=1)
    assert abs(staff.expires_at - now - timedelta(hours=2)) < timedelta(minutes=1)
    assert abs(chosen.expires_at - now - timedelta(hours=12)) < timedelta(minutes=1)


@pytest.mark.parametrize("ttl", ["0", "soon", "-5", "9999999d"])
def test_issue_token_rejects_a_bad_ttl(ttl):
    with pytest.raises(CommandError):
        _run("issue_token", "--phone", "+14155550150", "--ttl", ttl)


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
