"""A sold-out claim on the thin path (draws/claim/thin.py): the gate finds the
pool's sold-out flag, the group committer asks the database whether the
customer claimed today, and the answer is Django's, byte for byte.
"""

import asyncio
import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from couponsite.group_commit import group_committer
from couponsite.server import Router
from couponsite.server.router import RATE_COUNTED
from couponsite.server.routes import ROUTES, shutdown
from couponsite.testing.thin import (
    DjangoStandIn,
    django_answer,
    rate_limit_hits,
    same_answer,
    thin_answer,
)
from draws.claim.releases import batch_release
from draws.claim.tests.claim_helpers import claim_campaign, first_type
from draws.models import Claim
from draws.tests.thin_support import IN_CHINESE, held, in_language, signed_in

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thin_single_node", "thin_path"),
]

# 23:30:00.4 in Taipei: the local day ends 29 min 59.6 s later (Retry-After 1800).
NOW = dt.datetime(2026, 4, 24, 15, 30, 0, 400_000, tzinfo=dt.UTC)
CLAIMS = "/api/v1/campaigns/drop/claims"
SOLD_OUT = (
    b'{"code":"SOLD_OUT","detail":"No coupon is free right now; held coupons '
    b'come back when their hold runs out."}'
)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _sold_out(released: int = 0):
    """A campaign whose ``released`` coupons are claimed, and whose pool Django
    then found empty (the sold-out flag is set); held by this process."""
    campaign = claim_campaign(
        slug="drop",
        tz="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
        released=released,
    )
    claimers = [signed_in() for _ in range(released)]
    for _, client in claimers:
        assert client.post(CLAIMS).status_code == 201
    _, late = signed_in()
    assert late.post(CLAIMS).json()["code"] == "SOLD_OUT"
    held("drop")
    return campaign, claimers


def _mark(campaign, customer_id: int) -> str:
    return f"claimed:{campaign.pk}:{campaign.local_day(NOW).isoformat()}:{customer_id}"


def test_sold_out_is_answered_on_the_thin_path_as_django_answers_it(frozen, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "claim_customer": "5/minute"}
    _sold_out()
    token, client = signed_in()

    passed, status, _, body = thin_answer(CLAIMS, token)

    # counted once, as any thin answer
    assert (passed, status, body) == (False, 409, SOLD_OUT)
    assert rate_limit_hits("claim_customer", f"customer:{client.customer.pk}") == 1
    held("drop")
    status, answer = same_answer(client, token, CLAIMS)
    assert status == 409 and "retry-after" not in answer["headers"]
    assert not Claim.objects.filter(customer=client.customer).exists()


def test_a_claim_whose_mark_is_gone_is_already_claimed_not_sold_out(frozen):
    # given: a customer who claimed the last coupon today, then lost the mark
    campaign, [(token, client)] = _sold_out(released=1)
    assert not thin_answer(CLAIMS, token)[0]  # the mark answers first
    assert cache.delete(_mark(campaign, client.customer.pk))
    held("drop")

    # when the pool is sold out, the database is asked, and says "claimed"
    passed, status, headers, body = thin_answer(CLAIMS, token)

    # then the repeat is told so, as Django tells it, and the mark is back
    assert (passed, status) == (False, 429)
    assert headers["retry-after"] == "1800"
    assert cache.get(_mark(campaign, client.customer.pk)) == 1
    assert (status, headers, body) == django_answer(client, CLAIMS)
    assert Claim.objects.filter(customer=client.customer).count() == 1


def test_a_release_voids_the_flag_and_the_claim_is_taken(frozen):
    # given: coupons released after the pool was found empty (a new generation)
    campaign, _ = _sold_out()
    batch_release(acting_user=None, coupon_type=first_type(campaign), count=1)
    token, client = signed_in()
    held("drop")

    # then: the flag no longer holds, and the claim is taken (in a group)
    assert thin_answer(CLAIMS, token)[:2] == (False, 201)
    assert Claim.objects.filter(customer=client.customer).count() == 1


def test_a_flag_past_its_deadline_passes_to_django(frozen):
    _sold_out()
    token, client = signed_in()

    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        held("drop")
        assert thin_answer(CLAIMS, token)[0]
        # Django looks at the pool again, finds it empty, and flags it anew
        assert client.post(CLAIMS).json()["code"] == "SOLD_OUT"
        held("drop")
        assert thin_answer(CLAIMS, token)[1] == 409


def test_without_a_flag_django_answers(frozen, settings):
    # given: an empty pool nobody has found empty yet
    claim_campaign(
        slug="drop",
        tz="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
    )
    token, client = signed_in()
    held("drop")
    assert thin_answer(CLAIMS, token)[0]
    assert client.post(CLAIMS).json()["code"] == "SOLD_OUT"

    # and: with the thin path off, nothing is answered there at all
    settings.THIN_PATH = False
    held("drop")
    assert thin_answer(CLAIMS, token)[0]


def test_a_failed_group_commit_sends_the_claim_to_django(frozen, committer_unreachable):
    # given: a sold-out pool, and a database the committer cannot reach
    _sold_out()
    token, client = signed_in()

    # then: Django answers it, told the gate counted the hit
    django = DjangoStandIn()
    assert thin_answer(CLAIMS, token, django=django)[0]
    assert django.scope[RATE_COUNTED] == "claim"
    assert client.post(CLAIMS).json()["code"] == "SOLD_OUT"


def _scope(token: str) -> dict:
    return {
        "type": "http",
        "method": "POST",
        "http_version": "1.1",
        "scheme": "http",
        "path": CLAIMS,
        "raw_path": CLAIMS.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
    }


def test_customers_asked_in_one_batch_get_their_own_answers(frozen, settings):
    # given: two who claimed today (their marks lost) and three who did not,
    # all asking at once while the committer waits a moment for company
    settings.RUSH_GROUP_COMMIT_WINDOW = 0.05
    campaign, claimers = _sold_out(released=2)
    for _, client in claimers:
        assert cache.delete(_mark(campaign, client.customer.pk))
    others = [signed_in() for _ in range(3)]
    people = claimers + others
    held("drop")
    django = DjangoStandIn()
    app = Router(django, ROUTES)

    async def post(token: str) -> tuple[int, bytes]:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app(_scope(token), receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    async def race():
        try:
            answers = await asyncio.gather(*(post(token) for token, _ in people))
            return answers, vars(group_committer().stats).copy()
        finally:
            await shutdown()

    answers, stats = asyncio.run(race())

    # then: reads shared by several customers answered all five, each its own
    assert django.reached == 0
    assert stats["largest_batch"] > 1 and stats["transactions"] < 5
    assert stats["failed"] == 0
    assert [status for status, _ in answers] == [429, 429, 409, 409, 409]
    assert all(body == SOLD_OUT for _, body in answers[2:])
    for _, client in claimers:
        assert cache.get(_mark(campaign, client.customer.pk)) == 1
    assert Claim.objects.count() == 2


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_sold_out_in_chinese_is_answered_thin_as_django_answers_it(
    frozen, language, asking, saved
):
    _sold_out()
    token, client = signed_in(language=saved)

    status, answer = same_answer(client, token, CLAIMS, **asking)

    assert (status, in_language(answer, language)) == (409, "SOLD_OUT")
