"""Erasure (``DELETE /api/v1/me``, the customer page's "Erase this customer"):
personal data gone from every table, tokens refused on both paths, what counts
for quotas and reports unchanged, the invariant audit clean."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from contract.spec import Spec
from couponsite.audit import audit_record
from couponsite.models import AuditEntry
from couponsite.roles import CAMPAIGN_MANAGER, SUPPORT
from couponsite.testing.thin import thin_answer
from couponsite.tests.roles_support import staff_in
from customers.models import ApiToken, Customer, EmailVerification, OneTimeCode
from customers.services.erasure import erased_phone_hashes_purge
from customers.tests.factories import CustomerFactory
from customers.tests.test_api_export import _email_code, _scene, _sign_in
from draws.claim.models import Claim
from draws.draw.models import Draw
from draws.figures import campaign_figures
from draws.rush.models import Grab, Reservation
from draws.rush.services import rush_local_state_clear
from draws.tests.thin_support import held
from messaging.models import Message
from messaging.services import queue_email, queue_sms
from messaging.tests.support import last_sms_code
from vouchers.models import Voucher

ME = "/api/v1/me"
PHONE = "+14155550188"
EMAIL = "bea.erasable@example.com"
NAME = "Beatrix Erasable"
THIN_DRAWS = "/api/v1/campaigns/lucky/draws"


@pytest.fixture(autouse=True)
def _fresh_rush_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def _tables_holding(*needles: str) -> dict[str, list[str]]:
    """Every table of the database with a row whose text holds one of ``needles``."""
    found = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT t::text FROM {quoted} t")
            rows = [row[0] for row in cursor.fetchall()]
            hits = [
                row for row in rows if any(n.lower() in row.lower() for n in needles)
            ]
            if hits:
                found[table] = hits
    return found


def _fresh_code(client: APIClient, phone: str) -> str:
    """A sign-in code sent to ``phone`` now (the resend gap passed)."""
    OneTimeCode.objects.filter(phone=phone).update(
        sent_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert client.post("/api/v1/auth/otp", {"phone": phone}).status_code == 202
    return last_sms_code(to=phone)


def _counts(customer) -> dict:
    return {
        "draws": Draw.objects.filter(customer=customer).count(),
        "claims": Claim.objects.filter(customer=customer).count(),
        "reservations": Reservation.objects.filter(customer=customer).count(),
        "grabs": Grab.objects.filter(customer=customer).count(),
        "vouchers": sorted(
            Voucher.objects.filter(owner=customer).values_list("code", "status")
        ),
    }


def _all_figures(now) -> dict:
    return {
        campaign.slug: json.loads(
            json.dumps(campaign_figures(campaign, now), default=str)
        )
        for campaign in Campaign.objects.order_by("pk")
    }


def _audit_clean() -> None:
    """``manage.py audit_invariants`` finds no breach (one raises CommandError)."""
    out = io.StringIO()
    call_command("audit_invariants", "--no-record", stdout=out)
    assert "Every invariant holds." in out.getvalue()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_customer_erases_themself_and_only_what_counts_remains():
    # given a customer who signed in, named themself, verified an email, took
    # part every way today (a draw, a claim, a reservation and a grab), has
    # vouchers (one issued to their email) and messages, one still unsent
    client = APIClient()
    _sign_in(client, PHONE)
    assert client.patch(ME, {"name": NAME, "email": EMAIL}).status_code == 202
    assert (
        client.post("/api/v1/me/email/verify", {"code": _email_code()}).status_code
        == 200
    )
    customer = Customer.objects.get(phone=PHONE)
    _scene(customer, rows=1, tag="e")
    with transaction.atomic():  # staff once changed their name: the audit has it
        audit_record(
            acting_user=None,
            action="customer.changed",
            target=customer,
            changes={"name": ["", NAME], "email": [None, EMAIL]},
        )
    stranger = CustomerFactory(email="stranger@example.com")
    _scene(stranger, rows=1, tag="s")
    code = _fresh_code(client, PHONE)
    queued_at = timezone.now()
    queue_sms(to=PHONE, body=f"Good news {NAME}!", kind="win_notice")  # not sent yet
    queue_email(to=EMAIL, subject=f"For {NAME}", text="A coupon", kind="voucher_code")
    assert _tables_holding(PHONE, EMAIL, NAME)  # the scan finds them before
    now = timezone.now()
    counts_before = _counts(customer)
    figures_before = _all_figures(now)
    stranger_before = _counts(stranger)
    assert counts_before["draws"] == counts_before["claims"] == 1
    assert counts_before["reservations"] == counts_before["grabs"] == 1
    assert len(counts_before["vouchers"]) == 4

    # when
    answer = client.delete(ME, HTTP_ERASURE_CODE=code)

    # then the answer is empty, the token refused from the next request on
    assert answer.status_code == 204, answer.content
    assert answer.content == b""
    refused = client.get(ME)
    assert (refused.status_code, refused.json()["code"]) == (401, "INVALID_TOKEN")
    # no trace of the phone, email or name in any table
    assert _tables_holding(PHONE, PHONE[1:], EMAIL, NAME) == {}
    customer.refresh_from_db()
    assert customer.phone == f"erased:{customer.pk}"
    assert (customer.email, customer.name, customer.is_active) == (None, "", False)
    assert customer.erased_at is not None
    assert not ApiToken.objects.filter(customer=customer, revoked_at__isnull=True)
    assert not EmailVerification.objects.filter(customer=customer).exists()
    # the unsent messages are cancelled, every message to them anonymised
    theirs = Message.objects.filter(recipient=customer.phone)
    assert theirs.count() == 6  # 2 sign-in codes, email code, win notice, 2 queued
    assert set(
        theirs.filter(created_at__gte=queued_at).values_list("status", flat=True)
    ) == {Message.Status.FAILED}
    # what counts stays, linked to the anonymised row: the same rows, the same
    # figures for every campaign, the stranger untouched, the audit clean
    assert _counts(customer) == counts_before
    assert _all_figures(now) == figures_before
    assert _counts(stranger) == stranger_before
    assert Customer.objects.get(pk=stranger.pk).email == "stranger@example.com"
    _audit_clean()
    entry = AuditEntry.objects.get(action="customer.erased")
    assert entry.acting_user is None and "by the customer" in entry.reason.lower()
    assert AuditEntry.objects.get(action="customer.changed").changes == {
        "name": ["(erased)", "(erased)"],
        "email": ["(erased)", "(erased)"],
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_erased_phone_cannot_sign_up_again_until_the_hold_ends(settings):
    # given a customer who drew today, then erased themself
    settings.ERASURE_SIGNIN_HOLD_SECONDS = 3600  # under a day: a day it is
    client = APIClient()
    _sign_in(client, PHONE)
    customer = Customer.objects.get(phone=PHONE)
    _scene(customer, rows=1, tag="h")
    assert (
        client.delete(ME, HTTP_ERASURE_CODE=_fresh_code(client, PHONE)).status_code
        == 204
    )

    # when the same phone signs in again the same day
    again = APIClient()
    assert again.post("/api/v1/auth/otp", {"phone": PHONE}).status_code == 202
    refused = again.post(
        "/api/v1/auth/token", {"phone": PHONE, "code": last_sms_code(to=PHONE)}
    )

    # then it is refused, for the rest of the hold (a day at least): the day's
    # draw of the erased row still counts and no new customer draws twice
    assert refused.status_code == 403
    assert refused.json()["code"] == "PHONE_RECENTLY_ERASED"
    assert 86000 < int(refused["Retry-After"]) <= 86400
    assert not Customer.objects.filter(phone=PHONE).exists()
    assert Draw.objects.filter(customer=customer).count() == 1

    # after the hold: the hash is purged and the phone signs up as a new customer
    Customer.objects.filter(pk=customer.pk).update(
        erased_at=timezone.now() - dt.timedelta(days=1, minutes=1)
    )
    assert erased_phone_hashes_purge() == 1
    assert Customer.objects.get(pk=customer.pk).erased_phone_hash == ""
    _fresh_code(again, PHONE)
    signed = again.post(
        "/api/v1/auth/token", {"phone": PHONE, "code": last_sms_code(to=PHONE)}
    )
    assert signed.status_code == 200
    newcomer = Customer.objects.get(phone=PHONE)
    assert newcomer.pk != customer.pk
    assert not Draw.objects.filter(customer=newcomer).exists()


@pytest.mark.django_db
def test_a_wrong_or_missing_code_erases_nothing(customer_client):
    customer = customer_client.customer
    name, phone = customer.name, customer.phone
    assert customer_client.post("/api/v1/auth/otp", {"phone": phone}).status_code == 202
    right = last_sms_code(to=phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    missing = customer_client.delete(ME)
    malformed = customer_client.delete(ME, HTTP_ERASURE_CODE="12ab")
    guessed = customer_client.delete(ME, HTTP_ERASURE_CODE=wrong)

    assert (missing.status_code, missing.json()["code"]) == (400, "VALIDATION_ERROR")
    assert (malformed.status_code, malformed.json()["code"]) == (
        400,
        "VALIDATION_ERROR",
    )
    assert (guessed.status_code, guessed.json()["code"]) == (400, "OTP_INVALID")
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.erased_at) == (name, phone, None)
    assert customer_client.get(ME).status_code == 200
    assert OneTimeCode.objects.get(phone=phone).attempts == 1  # counted like sign-in


@pytest.mark.django_db
def test_wrong_guesses_end_the_code_as_at_sign_in(settings, customer_client):
    settings.OTP_MAX_ATTEMPTS = 2
    phone = customer_client.customer.phone
    assert customer_client.post("/api/v1/auth/otp", {"phone": phone}).status_code == 202
    right = last_sms_code(to=phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    codes = [
        customer_client.delete(ME, HTTP_ERASURE_CODE=typed).json()["code"]
        for typed in (wrong, wrong, right)
    ]

    assert codes == ["OTP_INVALID", "OTP_INVALID", "OTP_ATTEMPTS_EXCEEDED"]
    assert Customer.objects.get(phone=phone).erased_at is None


@pytest.mark.django_db
def test_a_code_already_used_to_sign_in_is_not_proof(customer_client):
    phone = customer_client.customer.phone
    client = APIClient()
    code, _ = _sign_in(client, phone)

    answer = customer_client.delete(ME, HTTP_ERASURE_CODE=code)

    assert (answer.status_code, answer.json()["code"]) == (400, "OTP_INVALID")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_support_erases_a_customer_from_their_page_with_a_reason(client):
    # given a customer with a draw today, and Support on their page
    customer = CustomerFactory(phone=PHONE, email=EMAIL, name=NAME)
    _scene(customer, rows=1, tag="a")
    counts_before = _counts(customer)
    support = staff_in(SUPPORT)
    client.force_login(support)
    page = reverse("admin:customers_customer_change", args=[customer.pk])
    erase = reverse("admin:customers_customer_erase", args=[customer.pk])
    assert erase in client.get(page).content.decode()
    assert client.get(erase).status_code == 200

    # when
    answer = client.post(erase, {"reason": "Request #4411 by email"})

    # then the customer is erased, the audit names who and why
    assert answer.status_code == 302
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.phone.startswith("erased:")
    entry = AuditEntry.objects.get(action="customer.erased")
    assert (entry.acting_user, entry.reason) == (support, "Request #4411 by email")
    assert entry.target_id == str(customer.pk)
    assert _counts(customer) == counts_before
    assert _tables_holding(PHONE, EMAIL, NAME) == {}
    _audit_clean()
    # the page no longer offers it; the erased row cannot be edited
    shown = client.get(page).content.decode()
    assert erase not in shown
    again = client.post(erase, {"reason": "twice"})
    assert again.status_code == 302
    assert AuditEntry.objects.filter(action="customer.erased").count() == 1


@pytest.mark.django_db
def test_only_those_allowed_may_erase(client):
    customer = CustomerFactory()
    erase = reverse("admin:customers_customer_erase", args=[customer.pk])
    page = reverse("admin:customers_customer_change", args=[customer.pk])
    client.force_login(staff_in(CAMPAIGN_MANAGER))

    refused = client.post(erase, {"reason": "because"})

    assert refused.status_code == 403
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    # Campaign managers do not even read customers.
    assert client.get(page).status_code in (302, 403)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("thin_path")
def test_the_thin_path_refuses_an_erased_customers_token_at_once():
    # given a signed-in customer who drew today in a campaign this process holds,
    # so the thin path knows their token and answers it
    campaign = CampaignFactory(
        slug="lucky",
        starts_at=timezone.now() - dt.timedelta(days=1),
        ends_at=timezone.now() + dt.timedelta(days=1),
    )
    CouponTypeFactory(campaign=campaign, probability=0)
    client = APIClient()
    _, token = _sign_in(client, PHONE)
    assert client.post(THIN_DRAWS).status_code == 201
    held(campaign.slug)
    passed, status, _, _ = thin_answer(THIN_DRAWS, token)
    assert (passed, status) == (False, 429)  # already drawn today: thin answers

    # when they erase themself
    code = _fresh_code(client, PHONE)
    assert client.delete(ME, HTTP_ERASURE_CODE=code).status_code == 204

    # then the thin path no longer answers for the token: Django does, with a 401
    passed, _, _, _ = thin_answer(THIN_DRAWS, token)
    assert passed
    refused = client.post(THIN_DRAWS)
    assert (refused.status_code, refused.json()["code"]) == (401, "INVALID_TOKEN")


@pytest.mark.django_db(transaction=True)  # the token cache is told after commit
def test_the_schema_says_what_delete_me_answers(customer_client):
    # given the schema, and answers of each kind
    spec = Spec(
        customer_client.get(
            "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
        ).json()
    )
    operation = spec.operation("DELETE", ME)
    phone = customer_client.customer.phone
    assert customer_client.post("/api/v1/auth/otp", {"phone": phone}).status_code == 202
    code = last_sms_code(to=phone)
    answers = [
        customer_client.delete(ME),
        customer_client.delete(ME, HTTP_ERASURE_CODE=f"{(int(code) + 1) % 10**6:06d}"),
        customer_client.delete(ME, HTTP_ERASURE_CODE=code),
        customer_client.delete(ME, HTTP_ERASURE_CODE=code),
    ]

    # then each is one the schema declares, field for field
    assert [a.status_code for a in answers] == [400, 400, 204, 401]
    for answer in answers:
        problems = spec.response_errors(
            operation,
            answer.status_code,
            {name.lower(): value for name, value in answer.headers.items()},
            answer.content,
        )
        assert problems == {"status": [], "header": [], "body": []}, answer.content
    parameters = {p["name"]: p for p in operation.data.get("parameters", [])}
    assert parameters["Erasure-Code"]["in"] == "header"
    assert parameters["Erasure-Code"]["required"] is True
