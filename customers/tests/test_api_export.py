"""GET /api/v1/me/export: everything kept about the signed-in customer, each app's
part present, no secret in it, as the schema says, in a bounded number of queries."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.tests.factories import CouponTypeFactory
from contract.spec import Spec
from customers.models import ApiToken, EmailVerification, OneTimeCode
from customers.services import token_create
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.draw.services import draw_run
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, RUSHING, customers, rush_campaign
from messaging.tests.support import last_sms_code, mail_sent
from vouchers.services import vouchers_generate

URL = "/api/v1/me/export"
PHONE = "+14155550177"
EMAIL = "ann@example.com"
PARTS = {
    "exported_at",
    "profile",
    "emails",
    "sign_ins",
    "sign_in_codes",
    "vouchers",
    "voucher_history",
    "draws",
    "claims",
    "reservations",
    "grabs",
    "messages",
}


@pytest.fixture(autouse=True)
def _fresh_rush_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def _sign_in(client: APIClient, phone: str) -> tuple[str, str]:
    """Sign in through the API as a customer does; (the code, the token)."""
    assert client.post("/api/v1/auth/otp", {"phone": phone}).status_code == 202
    code = last_sms_code(to=phone)
    answer = client.post("/api/v1/auth/token", {"phone": phone, "code": code})
    assert answer.status_code == 200, answer.json()
    token = answer.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return code, token


def _email_code() -> str:
    return re.search(r"\b(\d{6})\b", mail_sent()[-1].body).group(1)


_others = iter(range(0, 9000, 4))


def _rush_grab_for(customer, *, slug: str) -> None:
    """A reservation and a won grab for ``customer`` (four others reserve too:
    every fifth reservation makes a coupon)."""
    campaign = rush_campaign(slug=slug)
    others = customers(4, start=next(_others))
    for person in [customer, *others]:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    rush_grab(campaign=campaign, customer=customer, now=RUSHING)


def _scene(customer, *, rows: int, tag: str) -> None:
    """``rows`` draws won, claims, reservations and grabs of ``customer``, and
    one voucher more issued to their email."""
    for n in range(rows):
        coupon_type = CouponTypeFactory(probability=1)
        assert draw_run(campaign=coupon_type.campaign, customer=customer).won
        claim_take(
            campaign=claim_campaign(slug=f"drop-{tag}-{n}", released=1),
            customer=customer,
        )
        _rush_grab_for(customer, slug=f"rush-{tag}-{n}")
    if customer.email:
        vouchers_generate(
            emails=[customer.email],
            offer_name="Winter Sale",
            discount=Decimal(10),
            expires_at=timezone.now() + dt.timedelta(days=30),
            acting_user=None,
        )


def _schema(client: APIClient) -> Spec:
    return Spec(
        client.get(
            "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
        ).json()
    )


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_signed_in_customer_exports_every_part_and_no_secret():
    # given a customer who signed in, verified an email, took part every way
    client = APIClient()
    first_code, token = _sign_in(client, PHONE)
    assert client.patch("/api/v1/me", {"email": EMAIL}).status_code == 202
    email_code = _email_code()
    verified = client.post("/api/v1/me/email/verify", {"code": email_code})
    assert verified.status_code == 200
    customer = ApiToken.objects.get(digest=ApiToken.digest_of(token)).customer
    _scene(customer, rows=1, tag="a")
    # ... and asked for another code, still on its way (its row holds the code).
    OneTimeCode.objects.update(sent_at=timezone.now() - dt.timedelta(minutes=5))
    assert client.post("/api/v1/auth/otp", {"phone": PHONE}).status_code == 202
    # Someone else's rows are not theirs.
    stranger = CustomerFactory()
    _scene(stranger, rows=1, tag="b")

    # when
    answer = client.get(URL)

    # then
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == PARTS
    assert body["profile"]["phone"] == PHONE
    assert body["profile"]["email"] == EMAIL
    assert body["profile"]["language"] == ""
    assert body["emails"] == [
        {
            "email": EMAIL,
            "verified": True,
            "current": True,
            "code_sent_at": body["emails"][0]["code_sent_at"],
            "verified_at": body["emails"][0]["verified_at"],
        }
    ]
    assert len(body["sign_ins"]) == 1
    assert set(body["sign_ins"][0]) == {
        "signed_in_at",
        "expires_at",
        "revoked_at",
        "name",
    }
    assert [code["used_at"] for code in body["sign_in_codes"]] == [None]
    assert len(body["draws"]) == 1 and body["draws"][0]["won"] is True
    assert len(body["claims"]) == 1
    assert len(body["reservations"]) == 1 and body["reservations"][0]["number"] == 1
    assert len(body["grabs"]) == 1
    assert {part["campaign"] for part in body["reservations"] + body["grabs"]} == {
        "rush-a-0"
    }
    assert body["claims"][0]["campaign"] == "drop-a-0"
    assert [
        e["voucher"] for e in body["voucher_history"] if e["kind"] == "claimed"
    ] == [body["claims"][0]["voucher"]["code"]]
    # The draw's, the claim's, the grab's coupon and the one issued to the email.
    codes = {v["code"] for v in body["vouchers"]}
    assert len(codes) == 4
    assert {
        body["draws"][0]["voucher"]["code"],
        body["claims"][0]["voucher"]["code"],
        body["grabs"][0]["voucher"]["code"],
    } <= codes
    kinds = sorted(message["kind"] for message in body["messages"])
    assert kinds == ["email_code", "sign_in_code", "sign_in_code", "win_notice"]
    assert {m["recipient"] for m in body["messages"]} == {PHONE, EMAIL}

    # No sign-in code, email code, token (or its prefix) or hash anywhere in it.
    text = answer.content.decode()
    pending_code_hash = OneTimeCode.objects.get(phone=PHONE).code_hash
    email_code_hash = EmailVerification.objects.get(customer=customer).code_hash
    for secret in (
        first_code,
        email_code,
        token,
        token[:8],
        ApiToken.digest_of(token),
        pending_code_hash,
        email_code_hash,
    ):
        assert secret not in text
    # The code still on its way is in its message row, not in the export.
    last_code = last_sms_code(to=PHONE)
    assert last_code not in text
    assert stranger.phone not in text

    # The answer is what the schema says, field for field.
    spec = _schema(client)
    operation = spec.operation("GET", URL)
    problems = spec.response_errors(
        operation,
        answer.status_code,
        {name.lower(): value for name, value in answer.headers.items()},
        answer.content,
    )
    assert problems == {"status": [], "header": [], "body": []}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_export_costs_the_same_queries_for_one_row_or_many():
    few = CustomerFactory(email="few@example.com")
    many = CustomerFactory(email="many@example.com")
    _scene(few, rows=1, tag="few")
    _scene(many, rows=3, tag="many")

    def queries(customer) -> tuple[int, dict]:
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
        )
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(URL)
        assert answer.status_code == 200
        return len(captured), answer.json()

    few_queries, few_body = queries(few)
    many_queries, many_body = queries(many)

    assert len(few_body["draws"]) == 1 and len(few_body["grabs"]) == 1
    assert len(many_body["draws"]) == 3 and len(many_body["grabs"]) == 3
    assert len(many_body["vouchers"]) == 10  # 3 draws, 3 claims, 3 grabs, 1 email
    assert many_queries == few_queries
    # Authentication, then one query per part (or two: the emails part).
    assert few_queries <= 16


@pytest.mark.django_db
def test_the_export_needs_a_customer_and_is_rate_limited(settings, customer_client):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "export_customer": "2/hour"}

    anonymous = APIClient().get(URL)
    answers = [customer_client.get(URL) for _ in range(3)]

    assert (anonymous.status_code, anonymous.json()["code"]) == (
        401,
        "NOT_AUTHENTICATED",
    )
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "RATE_LIMITED"
    assert int(answers[2]["Retry-After"]) > 0
    # A customer with nothing but a profile has every part, empty.
    body = answers[0].json()
    assert set(body) == PARTS
    assert body["draws"] == body["claims"] == body["grabs"] == []
    assert body["sign_ins"][0]["name"] == ""


def test_a_blocked_customer_reads_in_their_export_that_they_are_blocked_and_why(
    customer_client, staff_user
):
    from customers.services import customer_block

    before = customer_client.get(URL).json()["profile"]
    customer_block(
        customer=customer_client.customer,
        acting_user=staff_user,
        reason="Scripted grabs from many phones",
    )

    after = customer_client.get(URL)

    assert (before["blocked_at"], before["blocked_reason"]) == (None, "")
    assert after.status_code == 200
    profile = after.json()["profile"]
    assert profile["blocked_at"] is not None
    assert profile["blocked_reason"] == "Scripted grabs from many phones"
    assert "blocked_by" not in profile  # who on the staff did it stays in the audit
