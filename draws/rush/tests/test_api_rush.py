"""The rush through HTTP: reserve and grab endpoints, their errors, and the race."""

import datetime as dt
import zoneinfo
from collections import Counter

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign
from couponsite.redis_client import get_redis
from couponsite.testing import race
from draws.models import Grab, Reservation
from draws.rush.services import rush_local_state_clear
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    at,
    client_for,
    customers,
    in_batches,
    roomy_redis_pool,
    rush_campaign,
)
from vouchers.models import Voucher

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_process_state(settings):
    # One test address plays hundreds of customers: the per-address limits are off.
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "reserve_ip": "off",
        "grab_ip": "off",
    }
    rush_local_state_clear()
    yield
    rush_local_state_clear()


@pytest.fixture
def campaign():
    return rush_campaign(slug="tonight")


def _reserve(client, slug="tonight"):
    return client.post(f"/api/v1/campaigns/{slug}/reservations")


def _grab(client, slug="tonight", **headers):
    return client.post(f"/api/v1/campaigns/{slug}/grabs", **headers)


def _code(response) -> str:
    return response.json().get("code", "CREATED")


@pytest.mark.redis
def test_reserve_then_grab(campaign):
    people = customers(6)
    clients = [client_for(person) for person in people]

    with time_machine.travel(RESERVING, tick=False):
        reserved = [_reserve(client) for client in clients[:5]]
        again = _reserve(clients[0])
    with time_machine.travel(RUSHING, tick=False):
        won = _grab(clients[0])
        repeat = _grab(clients[0])
        late = _grab(clients[1])
        rush_local_state_clear()  # a process without the "sold out" flag
        stranger = _grab(clients[5])

    assert [r.status_code for r in reserved] == [201] * 5
    assert [r.json()["number"] for r in reserved] == [1, 2, 3, 4, 5]
    assert reserved[0].json()["day"] == "2026-04-24"
    assert (again.status_code, _code(again)) == (409, "ERROR_DUPLICATED_RESERVATION")
    assert won.status_code == 201, won.json()
    voucher = won.json()["voucher"]
    assert voucher["status"] == "issued"
    assert voucher["campaign"] == "tonight"
    assert voucher["coupon_type"] == "$10 off"
    assert voucher["expires_at"] == "2026-05-01T15:00:10Z"
    assert Voucher.objects.get(owner=people[0]).status == Voucher.Status.ISSUED
    assert (repeat.status_code, _code(repeat)) == (409, "ALREADY_RECEIVED")
    assert (late.status_code, _code(late)) == (409, "SOLD_OUT")
    assert (stranger.status_code, _code(stranger)) == (403, "NOT_RESERVATION")


@pytest.mark.parametrize(
    ("clock", "reserve_status", "grab_status"),
    [
        ("22:54:59", 403, 403),
        ("22:55:00", 201, 403),
        ("22:59:59", 201, 403),
        ("23:00:00", 403, 201),
        ("23:00:59", 403, 201),
        ("23:01:00", 403, 403),
    ],
)
def test_each_endpoint_answers_in_its_own_window_only(
    campaign, clock, reserve_status, grab_status
):
    people = customers(6)
    clients = [client_for(person) for person in people]
    with time_machine.travel(RESERVING, tick=False):
        for client in clients[1:]:
            _reserve(client)

    with time_machine.travel(at(DAY, clock), tick=False):
        reserve = _reserve(clients[0])
        grab = _grab(clients[1])

    assert reserve.status_code == reserve_status
    assert grab.status_code == grab_status
    for response in (reserve, grab):
        if response.status_code == 403:
            assert _code(response) == "NOT_IN_ACTIVE_TIME"


@pytest.mark.redis
def test_a_rush_across_midnight_in_new_york_is_the_day_it_opened():
    # given a rush from 23:59:30 to 00:00:29, New York time (UTC-4 in April)
    zone = "America/New_York"
    rush_campaign(
        slug="midnight",
        timezone=zone,
        reservation_opens=dt.time(23, 50),
        reservation_closes=dt.time(23, 59, 29),
        rush_opens=dt.time(23, 59, 30),
        rush_closes=dt.time(0, 0, 29),
    )
    clients = [client_for(person) for person in customers(6)]
    next_day = DAY + dt.timedelta(days=1)

    # when five reserve before midnight and grab after it
    with time_machine.travel(at(DAY, "23:55:00", zone), tick=False):
        reserved = [_reserve(client, slug="midnight") for client in clients[:5]]
    with time_machine.travel(at(DAY, "23:59:29", zone), tick=False):
        too_early = _grab(clients[0], slug="midnight")
    with time_machine.travel(at(next_day, "00:00:15", zone), tick=False):
        won = _grab(clients[0], slug="midnight")
        late_reserve = _reserve(clients[5], slug="midnight")
    with time_machine.travel(at(next_day, "00:00:29.999", zone), tick=False):
        last_second = _grab(clients[1], slug="midnight")
    with time_machine.travel(at(next_day, "00:00:30", zone), tick=False):
        over = _grab(clients[2], slug="midnight")

    # then it is all the 24th's rush, open to the second
    assert {r.json()["day"] for r in reserved} == {"2026-04-24"}
    assert _code(too_early) == "NOT_IN_ACTIVE_TIME"
    assert won.status_code == 201 and won.json()["day"] == "2026-04-24"
    assert _code(late_reserve) == "NOT_IN_ACTIVE_TIME"
    assert _code(last_second) == "SOLD_OUT"  # inside the window, one coupon gone
    assert _code(over) == "NOT_IN_ACTIVE_TIME"


def test_only_signed_in_customers_may_reserve_and_grab(
    campaign, api_client, staff_client
):
    with time_machine.travel(RESERVING, tick=False):
        anonymous = _reserve(api_client)
        staff = _reserve(staff_client)
    with time_machine.travel(RUSHING, tick=False):
        anonymous_grab = _grab(api_client)

    assert (anonymous.status_code, _code(anonymous)) == (401, "NOT_AUTHENTICATED")
    assert (staff.status_code, _code(staff)) == (403, "PERMISSION_DENIED")
    assert anonymous_grab.status_code == 401


def test_unknown_campaigns_and_other_kinds(customer_client):
    rush_campaign(slug="lucky", kind=Campaign.Kind.DRAW)

    with time_machine.travel(RESERVING, tick=False):
        unknown = _reserve(customer_client, slug="nope")
        draw = _reserve(customer_client, slug="lucky")
    with time_machine.travel(RUSHING, tick=False):
        draw_grab = _grab(customer_client, slug="lucky")

    assert (unknown.status_code, _code(unknown)) == (404, "NOT_FOUND")
    assert (draw.status_code, _code(draw)) == (409, "WRONG_CAMPAIGN_KIND")
    assert (draw_grab.status_code, _code(draw_grab)) == (409, "WRONG_CAMPAIGN_KIND")


@pytest.mark.redis
def test_a_grab_retried_with_its_idempotency_key_replays_the_first_answer(campaign):
    people = customers(5)
    clients = [client_for(person) for person in people]
    with time_machine.travel(RESERVING, tick=False):
        for client in clients:
            _reserve(client)

    with time_machine.travel(RUSHING, tick=False):
        first = _grab(clients[0], HTTP_IDEMPOTENCY_KEY="grab-1")
        retry = _grab(clients[0], HTTP_IDEMPOTENCY_KEY="grab-1")
        fresh = _grab(clients[0], HTTP_IDEMPOTENCY_KEY="grab-2")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert (fresh.status_code, _code(fresh)) == (409, "ALREADY_RECEIVED")
    assert Grab.objects.count() == 1


@pytest.mark.redis
def test_reserve_and_grab_are_rate_limited(campaign, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "reserve_customer": "1/minute",
        "grab_customer": "2/minute",
    }
    people = customers(5)
    clients = [client_for(person) for person in people]

    with time_machine.travel(RESERVING, tick=False):
        for client in clients:
            _reserve(client)
        limited_reserve = _reserve(clients[0])
    with time_machine.travel(RUSHING, tick=False):
        answers = [_grab(clients[0]) for _ in range(3)]

    assert (limited_reserve.status_code, _code(limited_reserve)) == (
        429,
        "RATE_LIMITED",
    )
    assert "Retry-After" in limited_reserve
    assert [r.status_code for r in answers] == [201, 409, 429]


# --- The race through HTTP ----------------------------------------------------------------


def _race_posts(clients: list, path: str, *, during=None) -> list:
    """Each client posts once, 150 threads at a time; ``during`` runs mid-first-batch."""
    responses = []
    for number, batch in enumerate(in_batches(clients)):

        def post(i, batch=batch, number=number):
            if during and number == 0 and i == len(batch) // 2:
                during()
            response = batch[i].post(path)
            return response.status_code, response.json()

        responses += race(post, len(batch))
    return responses


@pytest.mark.parametrize("trouble", ["none", "redis_flushed_mid_rush", "redis_down"])
def test_300_reserve_then_racing_grabs_and_repeats_give_exactly_60_coupons(
    campaign, request, settings, trouble
):
    # given Redis as the test wants it, and 300 signed-in customers
    if trouble == "redis_down":
        request.getfixturevalue("redis_down")
    else:
        if not get_redis():
            pytest.skip("needs Redis")
        roomy_redis_pool(settings)
    clients = [client_for(person) for person in customers(300)]

    # when they all reserve, racing
    with time_machine.travel(RESERVING, tick=False):
        reserved = _race_posts(clients, "/api/v1/campaigns/tonight/reservations")

    # and grab at 23:00:10, racing, then all grab again
    def flush():
        get_redis().flushdb()
        rush_local_state_clear()

    during = flush if trouble == "redis_flushed_mid_rush" else None
    with time_machine.travel(RUSHING, tick=False):
        first = _race_posts(clients, "/api/v1/campaigns/tonight/grabs", during=during)
        repeats = _race_posts(clients, "/api/v1/campaigns/tonight/grabs")

    # then numbers 1..300 and exactly 60 winners, every other answer a clean no
    assert sorted(body["number"] for _, body in reserved) == list(range(1, 301))
    answers = Counter(
        "WON" if status == 201 else body["code"] for status, body in first
    )
    assert answers == {"WON": 60, "SOLD_OUT": 240}
    codes = {body["voucher"]["code"] for status, body in first if status == 201}
    assert len(codes) == 60
    # and asking again, each hears the answer for them, in the rush's order:
    # a winner ALREADY_RECEIVED (never SOLD_OUT), everyone else SOLD_OUT
    expected = [
        "ALREADY_RECEIVED" if status == 201 else "SOLD_OUT" for status, _ in first
    ]
    assert [body["code"] for _, body in repeats] == expected
    assert Grab.objects.count() == 60
    assert Reservation.objects.count() == 300
    assert Counter(
        Voucher.objects.filter(campaign=campaign).values_list("status", flat=True)
    ) == {Voucher.Status.ISSUED: 60}
    if trouble == "redis_down":
        assert set(Grab.objects.values_list("via", flat=True)) == {"postgres"}


@pytest.mark.redis
def test_a_new_rush_starting_in_a_minute_gives_one_coupon_per_five(staff_client):
    # given a staff member creating a rush whose reservations open in a minute
    now = timezone.now().replace(microsecond=0)
    zone = "America/Los_Angeles"
    local = now.astimezone(zoneinfo.ZoneInfo(zone))

    def clock(delta: dt.timedelta) -> str:
        return (local + delta).time().isoformat()

    created = staff_client.post(
        "/api/v1/campaigns",
        {
            "name": "Lunch rush",
            "kind": "rush",
            "timezone": zone,
            "starts_at": now.isoformat(),
            "ends_at": (now + dt.timedelta(days=1)).isoformat(),
            "reservation_opens": clock(dt.timedelta(minutes=1)),
            "reservation_closes": clock(dt.timedelta(minutes=3, seconds=-1)),
            "rush_opens": clock(dt.timedelta(minutes=3)),
            "rush_closes": clock(dt.timedelta(minutes=4, seconds=-1)),
            "ratio": "0.2",
            "coupon_types": [
                {
                    "name": "Free coffee",
                    "benefit_kind": "free_item",
                    "free_item": "Coffee",
                }
            ],
        },
    )
    assert created.status_code == 201, created.json()
    slug = created.json()["slug"]
    clients = [client_for(person) for person in customers(10)]

    # when ten customers reserve, too early and then in the window
    with time_machine.travel(now + dt.timedelta(seconds=30), tick=False):
        early = _reserve(clients[0], slug=slug)
    with time_machine.travel(now + dt.timedelta(minutes=2), tick=False):
        numbers = [_reserve(client, slug=slug).json()["number"] for client in clients]
    # and everyone grabs in the rush
    with time_machine.travel(now + dt.timedelta(minutes=3, seconds=5), tick=False):
        answers = [_grab(client, slug=slug) for client in clients]

    # then exactly 20% won
    assert _code(early) == "NOT_IN_ACTIVE_TIME"
    assert numbers == list(range(1, 11))
    assert [r.status_code for r in answers].count(201) == 2
    assert {_code(r) for r in answers if r.status_code != 201} == {"SOLD_OUT"}


def test_the_schema_documents_the_rush_endpoints_and_their_codes(client):
    schema = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()

    grab = schema["paths"]["/api/v1/campaigns/{slug}/grabs"]["post"]
    reserve = schema["paths"]["/api/v1/campaigns/{slug}/reservations"]["post"]
    grab_codes = str(grab["responses"])
    for code in (
        "NOT_IN_ACTIVE_TIME",
        "NOT_RESERVATION",
        "ALREADY_RECEIVED",
        "SOLD_OUT",
    ):
        assert code in grab_codes
    assert "ERROR_DUPLICATED_RESERVATION" in str(reserve["responses"]["409"])
    assert any(p["name"] == "Idempotency-Key" for p in grab["parameters"])
