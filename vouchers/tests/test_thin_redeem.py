"""A customer's redemption on the thin path (vouchers/thin.py): committed in a
group with voucher_redeem's rules, answered after COMMIT with the bytes Django
gives; everything the batch did not redeem goes to Django, which says why.

Batches run on a committer of their own (``asyncio.run``); single requests go
through ``couponsite.testing.thin``; the race goes through the application
gunicorn serves (the routes in front of Django's WSGI handler).
"""

import asyncio
import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from campaigns.tests.factories import CouponTypeFactory
from couponsite.codes import display_code
from couponsite.group_commit import GroupCommitter
from couponsite.testing.thin import (
    DjangoStandIn,
    rate_limit_hits,
    served_race,
    thin_answer,
)
from customers.services import token_create
from draws.tests.thin_support import IN_CHINESE, in_language, signed_in
from vouchers.api import _redeemed_price, _result
from vouchers.group_commit import redeem_submit
from vouchers.models import Voucher, VoucherEvent
from vouchers.tests.factories import OfferFactory, VoucherFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thin_single_node", "thin_path"),
]

REDEEM = "/api/v1/vouchers/redeem"


def _body(**fields) -> bytes:
    return json.dumps(fields).encode()


def _rendered(voucher: Voucher) -> bytes:
    """What VoucherRedeemApi answers for ``voucher`` as it is now."""
    voucher = Voucher.objects.select_related("offer", "coupon_type", "campaign").get(
        pk=voucher.pk
    )
    return JSONRenderer().render(_result(voucher))


def _redeem_all(requests: list[tuple[str, int]], *, order_ref: str = ""):
    """Every (code, customer id) redeemed at once on a fresh committer: one batch."""

    async def main():
        committer = GroupCommitter()
        try:
            answers = await asyncio.gather(
                *(
                    redeem_submit(
                        committer, code=code, customer_id=owner, order_ref=order_ref
                    )
                    for code, owner in requests
                )
            )
            return answers, vars(committer.stats).copy()
        finally:
            await committer.aclose()

    return asyncio.run(main())


# --- The batch -------------------------------------------------------------------


def test_a_batch_redeems_each_customers_own_voucher_with_its_history_row():
    vouchers = VoucherFactory.create_batch(12)
    vouchers.append(
        VoucherFactory(offer=OfferFactory(), coupon_type=None, campaign=None)
    )
    held = VoucherFactory(
        status=Voucher.Status.HELD,
        held_until=timezone.now() + dt.timedelta(minutes=5),
        expires_at=None,
    )
    vouchers.append(held)

    answers, stats = _redeem_all(
        [(v.code, v.owner_id) for v in vouchers], order_ref="A-17"
    )

    assert stats["transactions"] == 1 and stats["largest_batch"] == len(vouchers)
    for voucher, answer in zip(vouchers, answers, strict=True):
        voucher.refresh_from_db()
        assert voucher.status == Voucher.Status.REDEEMED
        assert voucher.order_ref == "A-17" and voucher.redeemed_by is None
        assert answer == _rendered(voucher)
        event = VoucherEvent.objects.get(voucher=voucher)
        assert (event.kind, event.customer_id, event.campaign_id) == (
            VoucherEvent.Kind.REDEEMED,
            voucher.owner_id,
            voucher.campaign_id,
        )
        assert (event.actor, event.reason, event.data) == (
            None,
            "",
            {"order_ref": "A-17"},
        )
        assert event.created_at == voucher.used_at
    assert json.loads(answers[-1])["voucher"]["status"] == "redeemed"


def test_a_code_is_redeemed_once_in_a_batch_and_across_batches():
    voucher = VoucherFactory()
    request = (voucher.code, voucher.owner_id)

    answers, stats = _redeem_all([request, request, request])
    again, _ = _redeem_all([request])

    assert sum(answer is not None for answer in answers) == 1
    assert again == [None] and stats["transactions"] == 3  # one batch each
    assert VoucherEvent.objects.filter(voucher=voucher).count() == 1
    assert json.loads(answers[0])["voucher"]["order_ref"] is None
    assert VoucherEvent.objects.get(voucher=voucher).data == {}


def test_what_voucher_redeem_refuses_is_not_redeemed_by_the_batch():
    now = timezone.now()
    someone_elses = VoucherFactory()
    stranger = VoucherFactory().owner
    expired = VoucherFactory(expires_at=now - dt.timedelta(seconds=1))
    void = VoucherFactory(status=Voucher.Status.VOID)
    lapsed = VoucherFactory(
        status=Voucher.Status.HELD, held_until=now - dt.timedelta(seconds=1)
    )
    pooled = VoucherFactory(status=Voucher.Status.AVAILABLE)

    answers, _ = _redeem_all(
        [
            (someone_elses.code, stranger.pk),
            (expired.code, expired.owner_id),
            (void.code, void.owner_id),
            (lapsed.code, lapsed.owner_id),
            (pooled.code, pooled.owner_id),
            ("NOSUCHCODE", stranger.pk),
        ]
    )

    assert answers == [None] * 6
    assert not VoucherEvent.objects.exists()
    assert not Voucher.objects.filter(status=Voucher.Status.REDEEMED).exists()


# --- The route -------------------------------------------------------------------


def test_a_redemption_is_answered_as_django_answers_one(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "redeem_customer": "5/minute"}
    token, client = signed_in()
    mine, other = VoucherFactory.create_batch(2, owner=client.customer)
    typed = display_code(mine.code).lower()  # as a person types it

    passed, status, headers, body = thin_answer(
        REDEEM, token, json_body=_body(code=typed, order_ref="B-9")
    )
    response = client.post(
        REDEEM, {"code": other.code, "order_ref": "B-9"}, format="json"
    )

    assert (passed, status) == (False, 200)
    mine.refresh_from_db()
    assert mine.status == Voucher.Status.REDEEMED and mine.order_ref == "B-9"
    assert body == _rendered(mine)
    assert response.status_code == 200
    # the same headers as Django's answer, and one hit of the limit each
    django_headers = {k.lower(): v for k, v in response.headers.items()}
    assert {k: v for k, v in headers.items() if k != "content-length"} == {
        k: v for k, v in django_headers.items() if k != "content-length"
    }
    assert rate_limit_hits("redeem_customer", f"customer:{client.customer.pk}") == 2


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_in_chinese_a_redemption_and_a_spent_limit_are_answered_as_django_does(
    settings, language, asking, saved
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "redeem_customer": "1/minute"}
    token, client = signed_in(language=saved)
    voucher = VoucherFactory(owner=client.customer)

    # a redemption: answered in the language (its body has no text to translate)
    passed, status, headers, body = thin_answer(
        REDEEM, token, json_body=_body(code=voucher.code), **asking
    )
    assert (passed, status, body) == (False, 200, _rendered(voucher))
    assert headers["content-language"] == language

    # the spent limit: the thin path's answer is Django's
    passed, status, headers, body = thin_answer(
        REDEEM, token, json_body=_body(code=voucher.code), **asking
    )
    django = client.post(
        REDEEM,
        {"code": voucher.code},
        format="json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in asking.items()},
    )
    answer = {"headers": headers, "body": body}
    assert (passed, status, in_language(answer, language)) == (
        False,
        429,
        "RATE_LIMITED",
    )
    assert (status, body) == (django.status_code, django.content)
    assert headers == {k.lower(): v for k, v in django.headers.items()}


def test_what_the_batch_did_not_redeem_goes_to_django_with_its_body():
    token, _ = signed_in()
    someone_elses = VoucherFactory()
    body = _body(code=someone_elses.code)
    django = DjangoStandIn()

    passed, *_ = thin_answer(REDEEM, token, json_body=body, django=django)

    # Django gets the body whole, and knows the gate counted the hit
    assert passed and django.body == body
    assert django.scope["couponsite.rate_counted"] == "redeem"
    someone_elses.refresh_from_db()
    assert someone_elses.status == Voucher.Status.ISSUED


@pytest.mark.parametrize(
    "fields",
    [
        {"code": "K7QM3XDP9T", "email": "a@example.com"},
        {"code": " K7QM3XDP9T"},
        {"code": 17},
        {"code": "K7QM3XDP9T", "order_ref": ""},
        {"code": "K7QM3XDP9T", "order_ref": 5},
        {"code": "!!"},
        {},
    ],
)
def test_any_other_body_goes_to_django_untouched(fields):
    token, _ = signed_in()
    voucher = VoucherFactory(code="K7QM3XDP9T")
    django = DjangoStandIn()

    passed, *_ = thin_answer(REDEEM, token, json_body=_body(**fields), django=django)

    assert passed and django.body == _body(**fields)
    assert "couponsite.rate_counted" not in django.scope  # nothing counted
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_an_idempotency_key_goes_to_django():
    token, client = signed_in()
    voucher = VoucherFactory(owner=client.customer)

    passed, *_ = thin_answer(
        REDEEM, token, json_body=_body(code=voucher.code), **{"Idempotency-Key": "k1"}
    )

    assert passed
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_a_staff_token_goes_to_django(staff_user):
    # given a staff token (staff tokens have no thin entry) and a voucher
    token = token_create(user=staff_user).key
    voucher = VoucherFactory()

    passed, *_ = thin_answer(REDEEM, token, json_body=_body(code=voucher.code))

    assert passed
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_a_spent_failure_budget_goes_to_django(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "redeem_fail_customer": "1/hour"}
    token, client = signed_in()
    voucher = VoucherFactory(owner=client.customer)
    assert client.post(REDEEM, {"code": "NOSUCH"}, format="json").status_code == 404

    passed, *_ = thin_answer(REDEEM, token, json_body=_body(code=voucher.code))

    assert passed
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


def test_a_failed_group_commit_sends_the_redemption_to_django(committer_unreachable):
    token, client = signed_in()
    voucher = VoucherFactory(owner=client.customer)

    assert thin_answer(REDEEM, token, json_body=_body(code=voucher.code))[0]
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED


# --- Through the served application ---------------------------------------------


def _serve(requests: list[tuple[str, bytes, list]]) -> list[tuple[int, bytes]]:
    return served_race(REDEEM, requests)[0]


def test_the_served_app_answers_refusals_as_django_and_counts_once(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "redeem_customer": "100/minute",
        "redeem_fail_customer": "100/hour",
    }
    token, client = signed_in()
    someone_elses = VoucherFactory()

    [(status, body)] = _serve([(token, _body(code=someone_elses.code), [])])

    assert status == 404 and json.loads(body)["code"] == "NOT_FOUND"
    who = f"customer:{client.customer.pk}"
    assert rate_limit_hits("redeem_customer", who) == 1  # the gate's, not twice
    assert rate_limit_hits("redeem_fail_customer", who) == 1  # Django's


def test_racing_redemptions_redeem_each_voucher_exactly_once(settings):
    """Forty customers each redeem their voucher three times at once, some down
    Django's path (an Idempotency-Key): one 200 each, the rest ALREADY_REDEEMED."""
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "redeem_customer": "100/minute",
        "redeem_ip": "10000/minute",
        "redeem_fail_customer": "100/hour",
        "redeem_fail_ip": "10000/hour",
    }
    people = [signed_in() for _ in range(40)]
    vouchers = [VoucherFactory(owner=client.customer) for _, client in people]
    requests = [
        (
            token,
            _body(code=voucher.code),
            [(b"idempotency-key", f"race-{index}-{n}".encode())]
            if (index + n) % 5 == 0
            else [],
        )
        for n in range(3)
        for index, ((token, _), voucher) in enumerate(
            zip(people, vouchers, strict=True)
        )
    ]

    answers = _serve(requests)

    assert Counter(status for status, _ in answers) == {200: 40, 409: 80}
    assert Voucher.objects.filter(status=Voucher.Status.REDEEMED).count() == 40
    events = Counter(VoucherEvent.objects.values_list("voucher_id", flat=True))
    assert events == {voucher.pk: 1 for voucher in vouchers}
    by_code = {v.code: v for v in vouchers}
    for status, body in answers:
        data = json.loads(body)
        if status == 200:
            code = data["voucher"]["code"].replace("-", "")
            assert body == _rendered(by_code[code])
        else:
            assert data["code"] == "ALREADY_REDEEMED"


# --- Orders and redemption rules (issue 15): Django's -------------------------


@pytest.mark.parametrize(
    ("rules", "body", "status", "answer"),
    [
        # an order: Django prices it
        ({}, {"order": {"amount": "20.00", "currency": "USD"}}, 200, "5.00"),
        # a per-customer limit: Django counts it under its lock
        ({"per_customer_limit": 1}, {}, 200, None),
        # rules that read the order, and none sent
        ({"min_order_amount": Decimal(10)}, {}, 400, "ORDER_REQUIRED"),
        ({"categories": "shoes"}, {}, 400, "ORDER_REQUIRED"),
        ({"max_discount": Decimal(1)}, {}, 200, None),
    ],
)
def test_an_order_or_a_voucher_with_rules_is_answered_by_django(
    rules, body, status, answer
):
    token, client = signed_in()
    voucher = VoucherFactory(owner=client.customer, **rules)
    request = {"code": voucher.code, **body}
    django = DjangoStandIn()

    passed, *_ = thin_answer(REDEEM, token, json_body=_body(**request), django=django)

    # the thin path stepped aside, the body whole, and redeemed nothing
    assert passed and django.body == _body(**request)
    voucher.refresh_from_db()
    assert voucher.status == Voucher.Status.ISSUED
    # and Django gives the answer the rules call for
    response = client.post(REDEEM, request, format="json")
    assert response.status_code == status
    if status == 200:
        assert response.json()["discount_amount"] == answer
        voucher.refresh_from_db()
        assert response.json() == _result(voucher, _redeemed_price(voucher))
    else:
        assert response.json()["code"] == answer


def test_a_voucher_without_rules_is_answered_alike_on_both_paths():
    """The thin path's body for a voucher without rules is Django's, new fields
    (no order: no money off; no rules) included."""
    token, client = signed_in()
    thin_one, django_one = VoucherFactory.create_batch(
        2, owner=client.customer, coupon_type=CouponTypeFactory()
    )

    passed, status, _, body = thin_answer(
        REDEEM, token, json_body=_body(code=thin_one.code)
    )
    response = client.post(REDEEM, {"code": django_one.code}, format="json")

    assert (passed, status, response.status_code) == (False, 200, 200)
    thin_data, django_data = json.loads(body), response.json()
    for data in (thin_data, django_data):
        del data["voucher"]["code"], data["voucher"]["used_at"], data["used_at"]
        del data["voucher"]["issued_at"], data["voucher"]["expires_at"]
    assert thin_data == django_data
    assert thin_data["voucher"]["rules"]["order_required"] is False
    assert thin_data["discount_amount"] is None
