"""A first claim on the thin path (draws/claim/thin.py): committed in a group,
answered after COMMIT as Django answers it.

Single requests go through ``couponsite.testing.thin`` (the thin routes with a
stand-in for Django); the race goes through the application gunicorn serves
(the routes in front of Django's WSGI handler), many requests at once on one
event loop, some of them sent down Django's path.
"""

import datetime as dt
import json
from collections import Counter

import pytest
import time_machine
from rest_framework.renderers import JSONRenderer

from couponsite.server.router import RATE_COUNTED
from couponsite.testing.thin import (
    DjangoStandIn,
    django_answer,
    rate_limit_hits,
    same_answer,
    served_race,
    thin_answer,
)
from draws.claim.api import ClaimSerializer
from draws.claim.tests.claim_helpers import assert_pool_invariants, claim_campaign
from draws.models import Claim
from draws.tests.thin_support import held, signed_in
from vouchers.models import Voucher

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thin_single_node", "thin_path"),
]

# 23:30:00.4 in Taipei: the local day ends 29 min 59.6 s later (Retry-After 1800).
NOW = dt.datetime(2026, 4, 24, 15, 30, 0, 400_000, tzinfo=dt.UTC)
CLAIMS = "/api/v1/campaigns/drop/claims"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _campaign(released: int):
    return claim_campaign(
        slug="drop",
        tz="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
        released=released,
    )


def _rendered(claim: Claim) -> bytes:
    claim = Claim.objects.select_related("voucher").get(pk=claim.pk)
    return JSONRenderer().render(
        ClaimSerializer(claim, context={"now": claim.created_at}).data
    )


def _without_length(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "content-length"}


def test_a_first_claim_is_committed_then_answered_as_django_answers_one(
    frozen, settings
):
    # given a pool of two, held by this process
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "claim_customer": "5/minute"}
    _campaign(released=2)
    token, client = signed_in()
    held("drop")

    # when a customer claims on the thin path
    passed, status, headers, body = thin_answer(CLAIMS, token)

    # then the answer is 201 with the committed row, as its serializer renders
    # it, counted once
    assert (passed, status) == (False, 201)
    claim = Claim.objects.get(customer=client.customer)
    assert body == _rendered(claim)
    assert json.loads(body)["voucher"]["status"] == "held"
    assert rate_limit_hits("claim_customer", f"customer:{client.customer.pk}") == 1

    # and Django answers a first claim with the same headers and shape
    _, other = signed_in()
    django_status, django_headers, django_body = django_answer(other, CLAIMS)
    assert django_status == 201
    assert _without_length(headers) == _without_length(django_headers)
    assert json.loads(django_body).keys() == json.loads(body).keys()

    # and the mark answers the repeat on the thin path, as Django answers it
    held("drop")
    status, answer = same_answer(client, token, CLAIMS)
    assert status == 429 and answer["headers"]["retry-after"] == "1800"
    assert Claim.objects.count() == 2
    assert_pool_invariants()


def test_an_empty_pool_nobody_flagged_is_djangos_then_the_flag_answers(frozen):
    # given: the pool's only coupon is claimed, and nobody found it empty yet
    _campaign(released=1)
    (first_token, _), (token, client) = signed_in(), signed_in()
    held("drop")
    assert thin_answer(CLAIMS, first_token)[1] == 201

    # then: no coupon for the next, who goes to Django, which flags the pool
    assert thin_answer(CLAIMS, token)[0]
    assert not Claim.objects.filter(customer=client.customer).exists()
    assert client.post(CLAIMS).json()["code"] == "SOLD_OUT"

    # and: the flag answers the next on the thin path, as Django does
    late_token, late = signed_in()
    held("drop")
    status, answer = same_answer(late, late_token, CLAIMS)
    assert status == 409 and b"SOLD_OUT" in answer["body"]
    assert Claim.objects.count() == 1


def test_a_failed_group_commit_sends_the_claim_to_django(frozen, committer_unreachable):
    # given a database the committer cannot reach
    _campaign(released=2)
    token, client = signed_in()
    held("drop")

    # when a first claim comes, Django takes it, and nothing was written before
    django = DjangoStandIn()
    assert thin_answer(CLAIMS, token, django=django)[0]
    assert not Claim.objects.exists()
    # the gate counted the hit, and tells Django so: it is counted once
    assert django.scope[RATE_COUNTED] == "claim"
    identity = f"customer:{client.customer.pk}"
    assert rate_limit_hits("claim_customer", identity) == 1
    assert client.post(CLAIMS, **{RATE_COUNTED: "claim"}).status_code == 201
    assert rate_limit_hits("claim_customer", identity) == 1


# --- The race --------------------------------------------------------------------


def test_racing_claims_never_give_a_coupon_twice_nor_more_than_the_pool(settings):
    """Sixty customers claim twice each, all at once, against a pool of 15: a
    fifth of the requests go down Django's path (an Idempotency-Key)."""
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "claim_customer": "100/minute",
        "claim_ip": "10000/minute",
    }
    with time_machine.travel(NOW, tick=False):
        _campaign(released=15)
        people = [signed_in() for _ in range(60)]
        held("drop")
    requests = [
        (
            token,
            None,
            [(b"idempotency-key", f"race-{index}-{n}".encode())]
            if (index + n) % 5 == 0
            else [],
        )
        for n in range(2)
        for index, (token, _) in enumerate(people)
    ]

    with time_machine.travel(NOW, tick=True):
        answers, stats = served_race(CLAIMS, requests)

    # (first claims came on the thin path, in shared transactions)
    assert stats["largest_batch"] > 1 and stats["failed"] == 0

    claims = {c.pk: c for c in Claim.objects.all()}
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {201, 409, 429}
    assert statuses[201] == len(claims) <= 15
    assert len({c.voucher_id for c in claims.values()}) == len(claims)
    assert Voucher.objects.filter(status=Voucher.Status.HELD).count() == len(claims)
    assert_pool_invariants()
    for status, body in answers:
        data = json.loads(body)
        if status == 201:  # every 201 is its own committed row
            assert body == _rendered(claims[data["id"]])
        else:
            assert data["code"] in {"SOLD_OUT", "ALREADY_CLAIMED_TODAY"}
