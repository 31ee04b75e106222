"""The lucky draw's thin path (draws/draw/thin.py): repeats answered before Django
(first draws: test_thin_first_draw.py).

Each thin answer is sent twice, once to the thin route and once through Django's
whole stack (middleware, DRF), and the two must be the same: status, body and
headers, ``Retry-After`` included (time stands still, so both count to the same
midnight). What the thin path is not sure of it must pass on.
"""

import datetime as dt
import json

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from campaigns.caching import campaign_forget
from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.redis_client import get_redis
from couponsite.server.thin import STALE, token_entry_key
from couponsite.testing.thin import (
    django_answer,
    rate_limit_hits,
    same_answer,
    thin_answer,
)
from customers.authentication import token_cache_key
from customers.models import ApiToken
from customers.services import token_create, token_revoke
from customers.tests.factories import CustomerFactory
from draws.daily_marks import done_today_key_prefix, remember_done_today
from draws.models import Draw
from draws.tests.thin_support import IN_CHINESE, held, in_language, signed_in

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("thin_path"),
]

# 23:30:00.4 in Taipei: the local day ends 29 min 59.6 s later (Retry-After 1800).
NOW = dt.datetime(2026, 4, 24, 15, 30, 0, 400_000, tzinfo=dt.UTC)
DRAWS = "/api/v1/campaigns/lucky/draws"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def campaign(frozen):
    campaign = CampaignFactory(
        slug="lucky", timezone="Asia/Taipei", ends_at=NOW + dt.timedelta(hours=1)
    )
    CouponTypeFactory(campaign=campaign, probability=1, daily_quota=0)  # all lose
    return campaign


def _held(slug: str = "lucky") -> None:
    held(slug)


def test_a_repeat_draw_is_answered_by_the_thin_path_as_django_answers_it(campaign):
    token, client = signed_in()
    _held()
    # Without the odds in this process, a first draw is Django's: the thin path
    # passes it on (with them, see test_thin_first_draw.py).
    assert thin_answer(DRAWS, token)[0]
    assert client.post(DRAWS).status_code == 201

    _held()
    status, answer = same_answer(client, token, DRAWS)

    assert status == 429
    assert answer["body"] == (
        b'{"code":"ALREADY_DRAWN_TODAY","detail":"You already drew in this '
        b'campaign today; come back after midnight."}'
    )
    assert answer["headers"]["retry-after"] == "1800"
    assert Draw.objects.count() == 1


def test_outside_the_campaign_the_thin_path_answers_not_in_active_time(campaign):
    token, client = signed_in()
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        _held()
        status, answer = same_answer(client, token, DRAWS)

    assert status == 403
    assert b'"NOT_IN_ACTIVE_TIME"' in answer["body"]
    assert "retry-after" not in answer["headers"]


def test_the_mark_alone_answers_and_without_it_django_does(campaign):
    # given: a mark with no draw behind it, and a draw whose mark was lost
    marked_token, marked = signed_in()
    remember_done_today(
        action="drew",
        campaign=campaign,
        customer_id=marked.customer.pk,
        day=campaign.local_day(NOW),
        now=NOW,
    )
    lost_token, lost = signed_in()
    assert lost.post(DRAWS).status_code == 201
    # Evicted (or Redis flushed): the mark is gone, the draw is not.
    day = campaign.local_day(NOW).isoformat()
    assert cache.delete(f"drew:{campaign.pk}:{day}:{lost.customer.pk}")
    _held()

    # then: the mark answers; without it Django's unique constraint does
    status, _ = same_answer(marked, marked_token, DRAWS)
    assert status == 429
    assert thin_answer(DRAWS, lost_token)[0]
    assert lost.post(DRAWS).json()["code"] == "ALREADY_DRAWN_TODAY"
    _held()
    assert not thin_answer(DRAWS, lost_token)[0]  # Django wrote the mark again


def test_a_first_draw_passed_to_django_is_counted_once(campaign, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_customer": "5/minute"}
    token, client = signed_in()
    identity = f"customer:{client.customer.pk}"
    _held()

    assert thin_answer(DRAWS, token)[0]
    assert rate_limit_hits("draw_customer", identity) == 0
    assert client.post(DRAWS).status_code == 201
    assert rate_limit_hits("draw_customer", identity) == 1

    _held()
    assert thin_answer(DRAWS, token)[1] == 429
    assert rate_limit_hits("draw_customer", identity) == 2


def test_a_spent_limit_is_answered_429_rate_limited_by_both(campaign, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_customer": "2/minute"}
    token, client = signed_in()
    identity = f"customer:{client.customer.pk}"
    assert client.post(DRAWS).status_code == 201
    _held()
    assert thin_answer(DRAWS, token)[1] == 429  # ALREADY_DRAWN_TODAY, a hit

    passed, status, headers, body = thin_answer(DRAWS, token)
    django_status, django_headers, django_body = django_answer(client, DRAWS)

    assert not passed
    assert (status, body) == (django_status, django_body)
    assert json.loads(body)["code"] == "RATE_LIMITED"
    assert headers == django_headers and int(headers["retry-after"]) >= 1
    assert rate_limit_hits("draw_customer", identity) == 2


def test_a_revoked_token_is_never_answered_by_the_thin_path(campaign):
    token, client = signed_in()
    assert client.post(DRAWS).status_code == 201
    _held()
    assert not thin_answer(DRAWS, token)[0]

    token_revoke(token=ApiToken.objects.get(digest=ApiToken.digest_of(token)))

    assert thin_answer(DRAWS, token)[0]  # Django answers it: 401 INVALID_TOKEN


@pytest.mark.parametrize(
    "headers", [{"Idempotency-Key": "draw-1"}, {"Accept": "text/html"}]
)
def test_unusual_requests_go_to_django(campaign, headers):
    token, client = signed_in()
    assert client.post(DRAWS).status_code == 201
    _held()
    assert not thin_answer(DRAWS, token)[0]

    assert thin_answer(DRAWS, token, **headers)[0]


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.DRAFT},  # customers are told 404
        {"kind": Campaign.Kind.CLAIM},  # WRONG_CAMPAIGN_KIND
    ],
)
def test_drafts_and_other_kinds_go_to_django(campaign, change):
    token, client = signed_in()
    assert client.post(DRAWS).status_code == 201
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    campaign_forget(campaign.slug)
    _held()

    assert thin_answer(DRAWS, token)[0]
    assert thin_answer("/api/v1/campaigns/nope/draws", token)[0]


def test_marks_the_script_cannot_read_go_to_django(campaign, settings):
    token, client = signed_in()
    # A key function that does not end with the key: no id can be appended.
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "KEY_FUNCTION": lambda key, prefix, version: f"{key}:{prefix}:{version}",
        }
    }
    assert client.post(DRAWS).status_code == 201
    day = campaign.local_day(NOW)
    assert done_today_key_prefix(action="drew", campaign=campaign, day=day) is None
    _held()

    assert thin_answer(DRAWS, token)[0]
    assert client.post(DRAWS).json()["code"] == "ALREADY_DRAWN_TODAY"


def test_the_key_prefix_and_the_customer_id_name_the_cached_mark(campaign):
    customer = CustomerFactory()
    day = campaign.local_day(NOW)
    remember_done_today(
        action="drew", campaign=campaign, customer_id=customer.pk, day=day, now=NOW
    )

    prefix = done_today_key_prefix(action="drew", campaign=campaign, day=day)

    assert get_redis().get(f"{prefix}{customer.pk}") == b"1"


# --- Languages: the thin path answers in the customer's language, as Django does.


def _drawn(client) -> None:
    assert client.post(DRAWS).status_code == 201
    _held()


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_refusals_in_chinese_are_answered_thin_as_django_answers_them(
    campaign, settings, language, asking, saved
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_customer": "3/minute"}
    token, client = signed_in(language=saved)
    _drawn(client)

    status, answer = same_answer(client, token, DRAWS, **asking)
    assert (status, in_language(answer, language)) == (429, "ALREADY_DRAWN_TODAY")
    assert answer["headers"]["retry-after"] == "1800"
    # (the draw and the two repeats spent the limit)
    status, answer = same_answer(client, token, DRAWS, **asking)
    assert (status, in_language(answer, language)) == (429, "RATE_LIMITED")

    other_token, other = signed_in(language=saved)
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        _held()
        status, answer = same_answer(other, other_token, DRAWS, **asking)
    assert (status, in_language(answer, language)) == (403, "NOT_IN_ACTIVE_TIME")


@pytest.mark.parametrize(
    ("asking", "saved", "detail"),
    [
        (
            {"Accept-Language": "zh-TW"},
            "",
            "你今天已在這個活動抽過獎，請於午夜後再來。",  # noqa: RUF001
        ),
        (
            {"Accept-Language": "zh-TW"},  # the saved language wins
            "zh-hans",
            "你今天已在这个活动抽过奖，请于午夜后再来。",  # noqa: RUF001
        ),
    ],
)
def test_a_chinese_refusal_reads_as_the_catalogue_says(campaign, asking, saved, detail):
    token, client = signed_in(language=saved)
    _drawn(client)

    passed, status, _, body = thin_answer(DRAWS, token, **asking)

    assert (passed, status) == (False, 429)
    assert json.loads(body)["detail"] == detail


def test_an_english_first_accept_language_is_answered_thin_as_django_does(campaign):
    token, client = signed_in()
    _drawn(client)
    en_first = {"Accept-Language": "en-US,zh-TW;q=0.8"}

    passed, status, headers, body = thin_answer(DRAWS, token, **en_first)

    assert not passed
    assert (status, headers, body) == django_answer(client, DRAWS, **en_first)
    assert headers["content-language"] == "en"


def _mark_lapsed(token: str) -> None:
    """What the token's stale marks' timeouts do (TOKEN_THIN_SECONDS,
    TOKEN_CACHE_SECONDS): Django's next read of the token writes them again."""
    digest = ApiToken.digest_of(token)
    assert get_redis().get(token_entry_key(digest)) == STALE
    get_redis().delete(token_entry_key(digest))
    cache.delete(token_cache_key(digest))


def _one_token(language: str = "") -> tuple[str, APIClient]:
    """A customer and one token, the thin path's and Django's client's alike."""
    token = token_create(customer=CustomerFactory(language=language)).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return token, client


def test_a_saved_language_is_answered_thin_once_saved_and_when_changed(campaign):
    # given a customer who follows the request's language, answered thin
    token, client = _one_token()
    _drawn(client)
    assert json.loads(thin_answer(DRAWS, token)[3])["detail"].isascii()

    for language in ["zh-hans", "zh-hant"]:
        # when they save a language (PATCH /me)
        saved = client.patch("/api/v1/me", {"language": language}, format="json")
        assert saved.status_code == 200

        # then their thin entry is stale: Django answers, in that language
        assert thin_answer(DRAWS, token)[0]
        assert client.post(DRAWS)["Content-Language"] == language
        # and once the mark lapsed, Django's next read writes the entry again,
        # with the language: the thin path answers in it, as Django does
        _mark_lapsed(token)
        assert client.post(DRAWS)["Content-Language"] == language
        _held()
        status, answer = same_answer(client, token, DRAWS)
        assert (status, in_language(answer, language)) == (429, "ALREADY_DRAWN_TODAY")


def test_a_customer_who_follows_the_request_again_is_answered_by_accept_language(
    campaign,
):
    token, client = _one_token(language="zh-hant")
    _drawn(client)

    answer = client.patch("/api/v1/me", {"language": ""}, format="json")
    assert answer.status_code == 200
    _mark_lapsed(token)
    assert client.post(DRAWS).status_code == 429
    _held()

    status, answer = same_answer(client, token, DRAWS, **{"Accept-Language": "zh-CN"})
    assert (status, in_language(answer, "zh-hans")) == (429, "ALREADY_DRAWN_TODAY")
    assert same_answer(client, token, DRAWS)[1]["headers"]["content-language"] == "en"


def test_an_entry_of_the_old_format_is_read_as_following_the_request(campaign):
    # given an entry written before entries held a language: "<id>:<expires ms>"
    token, client = _one_token(language="zh-hant")
    _drawn(client)
    row = ApiToken.objects.get(digest=ApiToken.digest_of(token))
    key = token_entry_key(row.digest)
    assert get_redis().get(key).endswith(b":zh-hant")
    get_redis().set(key, f"{row.customer_id}:{int(row.expires_at.timestamp() * 1000)}")

    passed, status, headers, _ = thin_answer(
        DRAWS, token, **{"Accept-Language": "zh-CN"}
    )

    # then the thin path answers as the entry says: by Accept-Language
    assert (passed, status, headers["content-language"]) == (False, 429, "zh-hans")
