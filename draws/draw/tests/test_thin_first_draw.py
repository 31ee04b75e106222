"""A first draw on the thin path (draws/draw/thin.py): rolled on the event loop,
committed in a group, answered after COMMIT as Django answers it.

Single requests go through ``couponsite.testing.thin`` (the thin routes with a
stand-in for Django); the race goes through the application gunicorn serves
(the routes in front of Django's WSGI handler), many requests at once on one
event loop, some of them sent down Django's path.
"""

import datetime as dt
import json
import time
from collections import Counter

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.renderers import JSONRenderer

from campaigns.selectors import campaign_odds
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite import sms
from couponsite.server.router import RATE_COUNTED
from couponsite.testing.tasks import run_queued_tasks
from couponsite.testing.thin import (
    DjangoStandIn,
    django_answer,
    rate_limit_hits,
    same_answer,
    served_race,
    thin_answer,
)
from draws.draw.fairness import day_seed, roll_from_seed
from draws.draw.models import Draw, DrawSeed
from draws.draw.serializers import DrawSerializer
from draws.draw.services import win_message
from draws.tests.thin_support import IN_CHINESE, held, signed_in
from messaging.models import Message
from vouchers.models import Voucher

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


def _campaign(**prize):
    campaign = CampaignFactory(
        slug="lucky",
        timezone="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
    )
    CouponTypeFactory(campaign=campaign, probability=1, valid_days=3650, **prize)
    return campaign


def _held(campaign) -> None:
    """The process holds the campaign, its odds and today's seed, as after
    Django drew."""
    held(campaign.slug)
    assert campaign_odds(campaign)
    assert day_seed(campaign.pk, campaign.local_day())


def _rendered(draw: Draw) -> bytes:
    return JSONRenderer().render(DrawSerializer(draw).data)


def _without_length(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k != "content-length"}


def _texts(count: int) -> list:
    """The texts sent: the route enqueues their send tasks from a thread of its
    own (waited for a moment), then the queue runs, as the worker would."""
    for _ in range(200):
        run_queued_tasks()
        if len(sms.outbox) >= count:
            break
        time.sleep(0.01)
    return list(sms.outbox)


def test_a_first_draw_is_committed_then_answered_as_django_answers_one(
    frozen, settings
):
    # given a prize of one a day, held by this process with its odds
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_customer": "5/minute"}
    campaign = _campaign(daily_quota=1)
    (winner_token, winner), (loser_token, loser) = signed_in(), signed_in()
    _held(campaign)

    # when both draw on the thin path
    passed, status, headers, body = thin_answer(DRAWS, winner_token)
    loser_passed, loser_status, _, loser_body = thin_answer(DRAWS, loser_token)

    # then each is answered 201 with its own committed row, as its serializer
    # renders it, counted once, and the winner is texted
    assert (passed, status, loser_passed, loser_status) == (False, 201, False, 201)
    draw = Draw.objects.select_related("voucher").get(customer=winner.customer)
    lost = Draw.objects.get(customer=loser.customer)
    assert (draw.won, lost.won, lost.coupon_type_id) == (
        True,
        False,
        draw.coupon_type_id,
    )
    assert body == _rendered(draw) and loser_body == _rendered(lost)
    assert json.loads(body)["voucher"]["status"] == "issued"
    identity = f"customer:{winner.customer.pk}"
    assert rate_limit_hits("draw_customer", identity) == 1
    # the winner's text committed with the draw, sent by the worker
    (written,) = Message.objects.filter(recipient=winner.customer.phone)
    assert (written.kind, written.channel) == ("win_notice", "sms")
    (text,) = _texts(1)
    assert text.to == winner.customer.phone
    assert text.body == win_message(
        campaign, draw.coupon_type, draw.voucher, language="en"
    )

    # and Django answers a first draw with the same headers and the same shape
    _, third = signed_in()
    django_status, django_headers, django_body = django_answer(third, DRAWS)
    assert django_status == 201
    assert _without_length(headers) == _without_length(django_headers)
    assert json.loads(django_body).keys() == json.loads(body).keys()

    # and the mark answers the repeat on the thin path, as Django answers it
    _held(campaign)
    status, answer = same_answer(winner, winner_token, DRAWS)
    assert status == 429 and answer["headers"]["retry-after"] == "1800"
    assert b"ALREADY_DRAWN_TODAY" in answer["body"]
    assert Draw.objects.count() == 3 and Voucher.objects.count() == 1


@pytest.mark.parametrize(("language", "asking", "saved"), IN_CHINESE)
def test_a_winner_in_chinese_is_answered_and_texted_in_their_language(
    frozen, language, asking, saved
):
    # given a prize, held by this process with its odds
    campaign = _campaign(daily_quota=1)
    token, client = signed_in(language=saved)
    _held(campaign)

    # when they draw on the thin path, asking in Chinese
    passed, status, headers, _ = thin_answer(DRAWS, token, **asking)

    # then the answer says so, and the text is in the language Django writes it in
    assert (passed, status, headers["content-language"]) == (False, 201, language)
    draw = Draw.objects.select_related("voucher").get(customer=client.customer)
    (text,) = _texts(1)
    assert text.body == win_message(
        campaign, draw.coupon_type, draw.voucher, language=language
    )
    assert text.body != win_message(
        campaign, draw.coupon_type, draw.voucher, language="en"
    )


def test_a_draw_the_database_already_holds_is_refused_and_marked(frozen):
    # given a draw committed through Django whose mark was lost
    campaign = _campaign()
    token, client = signed_in()
    assert client.post(DRAWS).status_code == 201
    day = campaign.local_day(NOW).isoformat()
    assert cache.delete(f"drew:{campaign.pk}:{day}:{client.customer.pk}")
    _held(campaign)

    # when the thin path takes it for a first draw, the constraint refuses it,
    # as Django would, and the mark is written again
    status, answer = same_answer(client, token, DRAWS)
    assert status == 429 and answer["headers"]["retry-after"] == "1800"
    assert cache.get(f"drew:{campaign.pk}:{day}:{client.customer.pk}") == 1
    assert Draw.objects.count() == 1


def test_a_failed_group_commit_sends_the_draw_to_django(frozen, committer_unreachable):
    # given a database the committer cannot reach
    campaign = _campaign()
    token, client = signed_in()
    _held(campaign)

    # when a first draw comes, Django takes it, and nothing was written
    django = DjangoStandIn()
    assert thin_answer(DRAWS, token, django=django)[0]
    assert not Draw.objects.exists()
    # the gate counted the hit, and tells Django so: it is counted once
    assert django.scope[RATE_COUNTED] == "draw"
    identity = f"customer:{client.customer.pk}"
    assert rate_limit_hits("draw_customer", identity) == 1
    assert client.post(DRAWS, **{RATE_COUNTED: "draw"}).status_code == 201
    assert rate_limit_hits("draw_customer", identity) == 1


def test_without_the_odds_a_first_draw_is_djangos(frozen):
    campaign = _campaign()
    token, _ = signed_in()
    held(campaign.slug)  # the campaign, not its odds

    assert thin_answer(DRAWS, token)[0]
    assert not Draw.objects.exists()


def test_without_the_days_seed_a_first_draw_is_djangos(frozen):
    # given a process holding the campaign and its odds, not today's seed
    campaign = _campaign()
    token, client = signed_in()
    held(campaign.slug)
    assert campaign_odds(campaign)

    # then the thin path passes a first draw on; Django makes the seed and
    # draws with it, and from then on this process holds it
    assert thin_answer(DRAWS, token)[0]
    assert client.post(DRAWS).status_code == 201
    seed = bytes(DrawSeed.objects.get(campaign=campaign).seed)
    other_token, other = signed_in()
    passed, status, _, _ = thin_answer(DRAWS, other_token)
    assert (passed, status) == (False, 201)
    assert Draw.objects.get(customer=other.customer).roll == roll_from_seed(
        seed,
        campaign_id=campaign.pk,
        day=campaign.local_day(NOW),
        customer_id=other.customer.pk,
    )


def test_the_thin_path_and_django_roll_the_same_number_for_the_same_draw(frozen):
    # given a prize nobody can win (the draws stay losses, nothing else written)
    campaign = _campaign(daily_quota=0)
    token, client = signed_in()
    _held(campaign)

    # when the customer's first draw is made on the thin path, then (the row
    # and the mark gone) made again by Django
    passed, status, _, _ = thin_answer(DRAWS, token)
    assert (passed, status) == (False, 201)
    thin_draw = Draw.objects.get(customer=client.customer)
    thin_draw.delete()
    day = campaign.local_day(NOW)
    assert cache.delete(f"drew:{campaign.pk}:{day.isoformat()}:{client.customer.pk}")
    assert client.post(DRAWS).status_code == 201
    django_draw = Draw.objects.get(customer=client.customer)

    # then both rolled the day's seed's HMAC of the same identity
    seed = bytes(DrawSeed.objects.get(campaign=campaign, day=day).seed)
    expected = roll_from_seed(
        seed, campaign_id=campaign.pk, day=day, customer_id=client.customer.pk
    )
    assert thin_draw.roll == django_draw.roll == expected
    assert thin_draw.from_seed and django_draw.from_seed
    assert thin_draw.coupon_type_id == django_draw.coupon_type_id is not None


# --- The race --------------------------------------------------------------------


def test_racing_draws_never_give_more_coupons_than_the_quota(settings):
    """Sixty customers draw twice each, all at once, against 7 coupons a day: a
    fifth of the requests go down Django's path (an Idempotency-Key)."""
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "draw_customer": "100/minute",
        "draw_ip": "10000/minute",
    }
    with time_machine.travel(NOW, tick=False):
        campaign = _campaign(daily_quota=7, total_quota=9)
        people = [signed_in() for _ in range(60)]
        _held(campaign)
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
        answers, stats = served_race(DRAWS, requests)

    # (most first draws came on the thin path, in shared transactions)
    assert stats["largest_batch"] > 1 and stats["failed"] == 0

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 60, 429: 60}
    draws = {d.pk: d for d in Draw.objects.select_related("voucher")}
    assert len(draws) == 60
    assert Counter(d.customer_id for d in draws.values()) == Counter(
        client.customer.pk for _, client in people
    )
    assert Voucher.objects.count() == 7
    assert sum(d.won for d in draws.values()) == 7
    for status, body in answers:
        if status == 201:  # every 201 is its own committed row
            data = json.loads(body)
            draw = draws[data["id"]]
            assert data["won"] == draw.won
            assert data["voucher"] == (
                None if not draw.won else json.loads(_rendered(draw))["voucher"]
            )
        else:
            assert json.loads(body)["code"] == "ALREADY_DRAWN_TODAY"
