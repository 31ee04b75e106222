"""Staff tokens are made in the admin with an end; email changes are shown there."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import ApiToken, EmailVerification
from customers.services import email_verification_start

pytestmark = pytest.mark.django_db


def test_a_new_staff_token_ends_after_the_staff_lifetime_by_default(
    admin_client, staff_user, settings
):
    settings.STAFF_TOKEN_TTL_SECONDS = 7 * 86400

    page = admin_client.get(reverse("admin:customers_apitoken_add"))

    initial = page.context["adminform"].form.initial["expires_at"]
    assert abs(initial - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_staff_token_made_with_a_chosen_end(admin_client, staff_user):
    ends = (timezone.now() + timedelta(days=3)).replace(microsecond=0)

    response = admin_client.post(
        reverse("admin:customers_apitoken_add"),
        {
            "user": staff_user.pk,
            "name": "checkout",
            "expires_at_0": ends.strftime("%Y-%m-%d"),
            "expires_at_1": ends.strftime("%H:%M:%S"),
        },
        follow=True,
    )

    assert response.status_code == 200
    token = ApiToken.objects.get(user=staff_user)
    assert token.expires_at == ends
    assert "copy it now" in response.content.decode()


def test_a_staff_token_cannot_end_in_the_past(admin_client, staff_user):
    past = timezone.now() - timedelta(days=1)

    response = admin_client.post(
        reverse("admin:customers_apitoken_add"),
        {
            "user": staff_user.pk,
            "name": "checkout",
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": past.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "Choose a time in the future" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_email_verifications_are_listed_read_only(admin_client, customer):
    email_verification_start(customer=customer, email="pending@example.com")
    verification = EmailVerification.objects.get()

    listed = admin_client.get(reverse("admin:customers_emailverification_changelist"))
    shown = admin_client.get(
        reverse("admin:customers_emailverification_change", args=[verification.pk])
    )

    assert "pending@example.com" in listed.content.decode()
    assert shown.status_code == 200
    assert verification.code_hash not in shown.content.decode()
    assert (
        admin_client.get(reverse("admin:customers_emailverification_add")).status_code
        == 403
    )
