"""The rush's thin path (draws/rush/thin.py): refusals answered before Django.

Each refusal is sent twice, once to the thin route and once through Django's
whole stack (middleware, DRF), and the two answers must be the same: status,
body and headers. What the thin path is not sure of it must pass on.
"""

import datetime as dt
import json
import time

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from campaigns.caching import campaign_cache_key
from campaigns.selectors import campaign_by_slug
from couponsite import localcache
from couponsite.localcache import local_clear as _local_clear
from couponsite.localcache import local_peek_stale
from couponsite.redis_client import get_redis
from couponsite.server import thin
from couponsite.testing.thin import (
    django_answer,
    rate_limit_hits,
    same_answer,
    thin_answer,
)
from customers.models import ApiToken, Customer
from customers.services import token_create, token_revoke
from draws.models import Grab, Reservation
from draws.rush.serializers import GrabSerializer, ReservationSerializer
from draws.rush.services import rush_local_state_clear, rush_warm
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    at,
    client_for,
    customers,
    rush_campaign,
)
from draws.tests.thin_support import IN_CHINESE, in_language
from webhooks.subscriptions import subscribed_types

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh(thin_path, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_ip": "off"}
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def _token(customer) -> str:
    return token_create(customer=customer).key


GRABS = "/api/v1/campaigns/tonight/grabs"
RESERVATIONS = "/api/v1/campaigns/tonight/reservations"


@pytest.fixture
def rush():
    """Five reserved (one coupon at the default ratio), one who did not reserve."""
    campaign = rush_campaign(slug="tonight")
    people = customers(6)
    with time_machine.travel(RESERVING, tick=False):
        for person in people[:5]:
            assert client_for(person).post(RESERVATIONS).status_code == 201
    return campaign, people


def local_clear():
    """This process forgets what it held, but knows (as Django would have read
    a moment ago) that no webhook endpoint subscribes."""
    _local_clear()
    subscribed_types(reload=True)


def _at_rush(campaign):
    rush_warm(campaign=campaign, day=DAY, now=RUSHING)
    local_clear()
    assert campaign_by_slug("tonight") is not None  # this process holds the campaign


def test_every_refusal_is_answered_by_the_thin_path_as_django_answers_it(rush):
    campaign, people = rush
    reserved, stranger = people[:5], people[5]
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        winner_token = _token(reserved[0])
        winner = client_for(reserved[0])
        # The winner is answered on the thin path too, after the group's commit.
        passed, status, _, _ = thin_answer(GRABS, winner_token)
        assert (passed, status) == (False, 201)

        token = _token(stranger)
        status, answer = same_answer(client_for(stranger), token, GRABS)
        assert status == 403 and b"NOT_RESERVATION" in answer["body"]

        status, answer = same_answer(winner, winner_token, GRABS)
        assert status == 409 and b"ALREADY_RECEIVED" in answer["body"]

        loser = reserved[1]
        status, answer = same_answer(client_for(loser), _token(loser), GRABS)
        assert status == 409 and b"SOLD_OUT" in answer["body"]

    assert Grab.objects.count() == 1
    # Outside the rush window: the window decides, before Redis's rules.
    with time_machine.travel(at(DAY, "23:05:00"), tick=False):
        local_clear()
        campaign_by_slug("tonight")
        status, answer = same_answer(client_for(stranger), token, GRABS)
        assert status == 403 and b"NOT_IN_ACTIVE_TIME" in answer["body"]


def test_each_thin_answer_counts_one_hit_and_a_spent_limit_answers_429(rush, settings):
    campaign, people = rush
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_customer": "2/minute"}
    stranger = people[5]
    identity = f"customer:{stranger.pk}"
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(stranger)
        passed, status, _, _ = thin_answer(GRABS, token)
        assert (passed, status) == (False, 403)
        assert rate_limit_hits("grab_customer", identity) == 1
        thin_answer(GRABS, token)
        assert rate_limit_hits("grab_customer", identity) == 2

        passed, status, headers, body = thin_answer(GRABS, token)
        django_status, django_headers, django_body = django_answer(
            client_for(stranger), GRABS
        )
        assert not passed
        assert (
            (status, body)
            == (django_status, django_body)
            == (
                429,
                b'{"code":"RATE_LIMITED","detail":"Too many requests; retry later."}',
            )
        )
        assert headers == django_headers and int(headers["retry-after"]) >= 1
        # A refused hit counts against nothing, on either path.
        assert rate_limit_hits("grab_customer", identity) == 2


def _rendered(serializer) -> bytes:
    return JSONRenderer().render(serializer.data)


def _without_length(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "content-length"}


def test_a_winner_is_committed_then_answered_as_django_answers_a_winner(settings):
    """Ten reserved, two coupons: one won on the thin path, one through Django."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_customer": "5/minute"}
    campaign = rush_campaign(slug="tonight")
    people = customers(10)
    with time_machine.travel(RESERVING, tick=False):
        for person in people:
            assert client_for(person).post(RESERVATIONS).status_code == 201
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        passed, status, headers, body = thin_answer(GRABS, _token(people[0]))
        assert (passed, status) == (False, 201)
        grab = Grab.objects.select_related("voucher").get(customer=people[0])
        assert grab.voucher.owner_id == people[0].pk
        assert body == _rendered(GrabSerializer(grab))  # its own row, committed
        assert rate_limit_hits("grab_customer", f"customer:{people[0].pk}") == 1

        django_status, django_headers, django_body = django_answer(
            client_for(people[1]), GRABS
        )
        assert django_status == 201
        assert _without_length(headers) == _without_length(django_headers)
        assert json.loads(body).keys() == json.loads(django_body).keys()
        # Redis knows both: the next grabs are refused on the thin path.
        for person in people[:2]:
            passed, status, _, body = thin_answer(GRABS, _token(person))
            assert (passed, status) == (False, 409)
            assert json.loads(body)["code"] == "ALREADY_RECEIVED"
        passed, status, _, body = thin_answer(GRABS, _token(people[2]))
        assert json.loads(body)["code"] == "SOLD_OUT"
    assert Grab.objects.count() == 2


def test_a_reservation_is_committed_then_answered_as_django_answers_one():
    rush_campaign(slug="tonight")
    first, second = customers(2)
    with time_machine.travel(RESERVING, tick=False):
        assert client_for(second).post(RESERVATIONS).status_code == 201  # the row
        local_clear()
        assert campaign_by_slug("tonight") is not None
        token = _token(first)
        passed, status, headers, body = thin_answer(RESERVATIONS, token)
        assert (passed, status) == (False, 201)
        reservation = Reservation.objects.get(customer=first)
        assert reservation.number == 2
        assert body == _rendered(ReservationSerializer(reservation))

        third = customers(1, start=50)[0]
        django_status, django_headers, _ = django_answer(
            client_for(third), RESERVATIONS
        )
        assert django_status == 201
        assert Reservation.objects.get(customer=third).number == 3
        assert headers == django_headers

        status, answer = same_answer(client_for(first), token, RESERVATIONS)
        assert status == 409 and b"ERROR_DUPLICATED_RESERVATION" in answer["body"]
    with time_machine.travel(RUSHING, tick=False):
        status, answer = same_answer(client_for(first), token, RESERVATIONS)
        assert status == 403 and b"NOT_IN_ACTIVE_TIME" in answer["body"]


def test_a_revoked_or_expired_token_is_never_answered_by_the_thin_path(rush):
    campaign, people = rush
    stranger = people[5]
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = token_create(customer=stranger)
        passed, status, _, _ = thin_answer(GRABS, token.key)
        assert (passed, status) == (False, 403)  # the entry was written at sign-in

        token_revoke(token=ApiToken.objects.get(pk=token.pk))
        passed, *_ = thin_answer(GRABS, token.key)
        assert passed  # Django answers it: 401 INVALID_TOKEN
        client = client_for(stranger)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        assert client.post(GRABS).json()["code"] == "INVALID_TOKEN"
        # Django's lookup of the revoked token does not bring the entry back.
        passed, *_ = thin_answer(GRABS, token.key)
        assert passed

        short = token_create(
            customer=stranger, expires_at=timezone.now() + dt.timedelta(seconds=30)
        )
        assert not thin_answer(GRABS, short.key)[0]
    with time_machine.travel(at(DAY, "23:00:45"), tick=False):
        passed, *_ = thin_answer(GRABS, short.key)
        assert passed  # expired: Django says TOKEN_EXPIRED


def test_a_deactivated_customer_is_never_answered_by_the_thin_path(rush):
    campaign, people = rush
    stranger = people[5]
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(stranger)
        assert not thin_answer(GRABS, token)[0]
        stranger.is_active = False
        stranger.save()
        assert thin_answer(GRABS, token)[0]


@pytest.mark.parametrize(
    "headers",
    [
        {"Idempotency-Key": "k-1"},
        {"Accept": "text/html"},
        {"Accept": "application/json; indent=4"},
        {"Cookie": "sessionid=abc"},
        {"Host": "evil.example"},
    ],
)
def test_unusual_requests_go_todjango_answer(rush, headers):
    campaign, people = rush
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(people[5])
        assert not thin_answer(GRABS, token)[0]
        passed, *_ = thin_answer(GRABS, token, **headers)
        assert passed


def test_unknown_tokens_and_campaigns_this_process_does_not_hold_go_todjango_answer(
    rush,
):
    campaign, people = rush
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        assert thin_answer(GRABS, "not-a-token")[0]
        assert thin_answer(GRABS, None)[0]
        assert thin_answer("/api/v1/campaigns/nope/grabs", _token(people[5]))[0]
        local_clear()  # the campaign is read by Django first, never on the loop
        assert thin_answer(GRABS, _token(people[5]))[0]


def test_with_the_thin_path_off_or_redis_failing_django_answers(rush, settings):
    campaign, people = rush
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(people[5])
        settings.THIN_PATH = False
        assert thin_answer(GRABS, token)[0]
        settings.THIN_PATH = True
        redis_url = settings.REDIS_URL
        settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
        thin.reset()
        assert thin_answer(GRABS, token)[0]
        settings.REDIS_URL = redis_url
        # Stepped aside for a while after the error, then back.
        assert thin_answer(GRABS, token)[0]
        thin.reset()
        assert not thin_answer(GRABS, token)[0]


def test_the_token_entry_needs_no_query_and_lives_no_longer_than_allowed(rush):
    _, people = rush
    token = token_create(customer=people[5])
    key = thin.token_entry_key(token.digest)
    entry = get_redis().get(key).decode()
    assert entry == f"{people[5].pk}:{int(token.expires_at.timestamp() * 1000)}"
    assert 0 < get_redis().ttl(key) <= settings.TOKEN_THIN_SECONDS


def test_the_campaign_row_is_read_again_before_it_times_out_and_never_used_after(
    rush, settings
):
    """Under steady traffic the process's campaign entry is refreshed past half
    its life (by the refresh thread, never on the loop), so a stampede does not
    fall through to Django each time it would time out; a timed-out entry is
    never used: Django answers, as it would for its own cache."""
    campaign, people = rush
    token = _token(people[5])
    key = campaign_cache_key("tonight")
    with time_machine.travel(RUSHING, tick=False):
        rush_warm(campaign=campaign, day=DAY, now=RUSHING)
        settings.LOCAL_CACHE_SECONDS = 3600
        local_clear()
        held = campaign_by_slug("tonight")
        assert not thin_answer(GRABS, token)[0]  # fresh: used, nothing reloaded
        thin.reset()  # waits for the refresh thread
        assert local_peek_stale(key)[0] is held

        localcache._entries[key] = (time.monotonic() + 1, held)  # near its end
        assert not thin_answer(GRABS, token)[0]  # still used...
        thin.reset()
        reloaded, stale_for = local_peek_stale(key)
        assert reloaded is not held and reloaded.pk == held.pk  # ...and read again
        assert stale_for < -3000

        localcache._entries[key] = (time.monotonic() - 0.001, reloaded)  # timed out
        assert thin_answer(GRABS, token)[0]  # Django answers
        thin.reset()
        assert local_peek_stale(key)[0] is not reloaded  # and it was read again
        assert not thin_answer(GRABS, token)[0]


# --- Languages: the thin path answers in the customer's language, as Django does.


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_every_refusal_in_chinese_is_answered_thin_as_django_answers_it(
    rush, language, asking, saved
):
    campaign, people = rush
    Customer.objects.filter(pk__in=[p.pk for p in people]).update(language=saved)
    for person in people:
        person.refresh_from_db()
    reserved, stranger = people[:5], people[5]
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        winner_token = _token(reserved[0])
        passed, status, headers, _ = thin_answer(GRABS, winner_token, **asking)
        assert (passed, status, headers["content-language"]) == (False, 201, language)

        token = _token(stranger)
        status, answer = same_answer(client_for(stranger), token, GRABS, **asking)
        assert (status, in_language(answer, language)) == (403, "NOT_RESERVATION")

        status, answer = same_answer(
            client_for(reserved[0]), winner_token, GRABS, **asking
        )
        assert (status, in_language(answer, language)) == (409, "ALREADY_RECEIVED")

        loser = reserved[1]
        status, answer = same_answer(client_for(loser), _token(loser), GRABS, **asking)
        assert (status, in_language(answer, language)) == (409, "SOLD_OUT")

        # the reservations are closed while the rush is on
        status, answer = same_answer(
            client_for(stranger), token, RESERVATIONS, **asking
        )
        assert (status, in_language(answer, language)) == (403, "NOT_IN_ACTIVE_TIME")
        status, answer = same_answer(
            client_for(reserved[1]), _token(reserved[1]), RESERVATIONS, **asking
        )
        assert (status, in_language(answer, language)) == (403, "NOT_IN_ACTIVE_TIME")

    with time_machine.travel(at(DAY, "23:05:00"), tick=False):
        local_clear()
        campaign_by_slug("tonight")
        status, answer = same_answer(client_for(stranger), token, GRABS, **asking)
        assert (status, in_language(answer, language)) == (403, "NOT_IN_ACTIVE_TIME")


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_a_spent_grab_limit_in_chinese_is_answered_as_django_does(
    rush, settings, language, asking, saved
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "grab_customer": "1/minute"}
    campaign, people = rush
    stranger = people[5]
    Customer.objects.filter(pk=stranger.pk).update(language=saved)
    stranger.refresh_from_db()
    with time_machine.travel(RUSHING, tick=False):
        _at_rush(campaign)
        token = _token(stranger)
        assert thin_answer(GRABS, token, **asking)[1] == 403  # NOT_RESERVATION

        status, answer = same_answer(client_for(stranger), token, GRABS, **asking)

    assert (status, in_language(answer, language)) == (429, "RATE_LIMITED")
