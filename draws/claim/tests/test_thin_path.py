"""Claim and hold's thin path (draws/claim/thin.py): repeats answered before Django.

Each thin answer is sent twice, once to the thin route and once through Django's
whole stack (middleware, DRF), and the two must be the same: status, body and
headers, ``Retry-After`` included (time stands still, so both count to the same
midnight). Everything the thin path is not sure of it must pass on.
``SOLD_OUT``, asked of the database in groups: ``test_thin_sold_out.py``.
"""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from campaigns.caching import campaign_forget
from campaigns.models import Campaign
from couponsite.testing.thin import rate_limit_hits, same_answer, thin_answer
from customers.models import ApiToken
from customers.services import token_revoke
from draws.claim.tests.claim_helpers import claim_campaign
from draws.daily_marks import remember_done_today
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


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _campaign(released: int = 5) -> Campaign:
    return claim_campaign(
        slug="drop",
        tz="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
        released=released,
    )


@pytest.fixture
def campaign(frozen):
    return _campaign()


def _held(slug: str = "drop") -> None:
    held(slug)


def test_a_repeat_claim_is_answered_by_the_thin_path_as_django_answers_it(campaign):
    token, client = signed_in()
    _held()
    # A first claim is committed in a group (test_thin_first_claim.py).
    assert thin_answer(CLAIMS, token)[:2] == (False, 201)

    _held()
    status, answer = same_answer(client, token, CLAIMS)

    assert status == 429
    assert answer["body"] == (
        b'{"code":"ALREADY_CLAIMED_TODAY","detail":"You already claimed a coupon '
        b'in this campaign today; come back after midnight."}'
    )
    assert answer["headers"]["retry-after"] == "1800"
    assert Claim.objects.count() == 1


def test_outside_the_campaign_the_thin_path_answers_not_in_active_time(campaign):
    token, client = signed_in()
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        _held()
        status, answer = same_answer(client, token, CLAIMS)

    assert status == 403
    assert b'"NOT_IN_ACTIVE_TIME"' in answer["body"]
    assert "retry-after" not in answer["headers"]


def test_the_mark_alone_answers_and_without_it_django_does(campaign):
    # given: a mark with no claim behind it, and a claim whose mark was lost
    marked_token, marked = signed_in()
    day = campaign.local_day(NOW)
    remember_done_today(
        action="claimed",
        campaign=campaign,
        customer_id=marked.customer.pk,
        day=day,
        now=NOW,
    )
    lost_token, lost = signed_in()
    assert lost.post(CLAIMS).status_code == 201
    # Evicted (or Redis flushed): the mark is gone, the claim is not.
    assert cache.delete(f"claimed:{campaign.pk}:{day.isoformat()}:{lost.customer.pk}")
    _held()

    # then: the mark answers; without it the database does (the group
    # committer's batch asks it), and the mark is written again
    status, _ = same_answer(marked, marked_token, CLAIMS)
    assert status == 429
    status, answer = same_answer(lost, lost_token, CLAIMS)
    assert status == 429 and b"ALREADY_CLAIMED_TODAY" in answer["body"]
    assert cache.get(f"claimed:{campaign.pk}:{day.isoformat()}:{lost.customer.pk}")
    assert Claim.objects.count() == 1


def test_a_first_claim_is_counted_once(campaign, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "claim_customer": "5/minute"}
    token, client = signed_in()
    identity = f"customer:{client.customer.pk}"
    _held()

    assert thin_answer(CLAIMS, token)[:2] == (False, 201)
    assert rate_limit_hits("claim_customer", identity) == 1

    _held()
    assert thin_answer(CLAIMS, token)[1] == 429
    assert rate_limit_hits("claim_customer", identity) == 2


def test_a_revoked_token_is_never_answered_by_the_thin_path(campaign):
    token, client = signed_in()
    assert client.post(CLAIMS).status_code == 201
    _held()
    assert not thin_answer(CLAIMS, token)[0]

    token_revoke(token=ApiToken.objects.get(digest=ApiToken.digest_of(token)))

    assert thin_answer(CLAIMS, token)[0]  # Django answers it: 401 INVALID_TOKEN


@pytest.mark.parametrize(
    "headers", [{"Idempotency-Key": "claim-1"}, {"Accept": "text/html"}]
)
def test_unusual_requests_go_to_django(campaign, headers):
    token, client = signed_in()
    assert client.post(CLAIMS).status_code == 201
    _held()
    assert not thin_answer(CLAIMS, token)[0]

    assert thin_answer(CLAIMS, token, **headers)[0]


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.DRAFT},  # customers are told 404
        {"kind": Campaign.Kind.DRAW},  # WRONG_CAMPAIGN_KIND
    ],
)
def test_drafts_and_other_kinds_go_to_django(campaign, change):
    token, client = signed_in()
    assert client.post(CLAIMS).status_code == 201
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign_forget(campaign.slug)
    _held()

    assert thin_answer(CLAIMS, token)[0]
    assert thin_answer("/api/v1/campaigns/nope/claims", token)[0]


# --- Languages: the thin path answers in the customer's language, as Django does.


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_refusals_in_chinese_are_answered_thin_as_django_answers_them(
    campaign, settings, language, asking, saved
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "claim_customer": "3/minute"}
    token, client = signed_in(language=saved)
    _held()
    passed, status, headers, _ = thin_answer(CLAIMS, token, **asking)
    assert (passed, status, headers["content-language"]) == (False, 201, language)

    _held()
    status, answer = same_answer(client, token, CLAIMS, **asking)
    assert (status, in_language(answer, language)) == (429, "ALREADY_CLAIMED_TODAY")
    # (the claim and the two repeats spent the limit)
    status, answer = same_answer(client, token, CLAIMS, **asking)
    assert (status, in_language(answer, language)) == (429, "RATE_LIMITED")

    other_token, other = signed_in(language=saved)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        _held()
        status, answer = same_answer(other, other_token, CLAIMS, **asking)
    assert (status, in_language(answer, language)) == (403, "NOT_IN_ACTIVE_TIME")
