"""The metrics the modes count (couponsite.metrics): once committed, never for a
rolled back transaction, on the thin path (group commit) as through Django; and
every answer by its route pattern, whichever path gave it.

In one process (no ``PROMETHEUS_MULTIPROC_DIR``) the values are this process's
registry's: each test reads them before and after.
"""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.urls import resolve
from prometheus_client import REGISTRY

from campaigns.selectors import campaign_odds
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.server.routes import ROUTES
from couponsite.testing.thin import served_race, thin_answer
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.draw.fairness import day_seed
from draws.draw.services import draw_run
from draws.models import Draw
from draws.tests.thin_support import held, signed_in
from vouchers.services import voucher_redeem

NOW = dt.datetime(2026, 4, 24, 15, 30, 0, 400_000, tzinfo=dt.UTC)
DRAWS = "/api/v1/campaigns/lucky/draws"
DRAWS_ROUTE = "api/v1/campaigns/<slug:slug>/draws"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def answers(route: str, status: int) -> float:
    return value(
        "couponsite_http_request_duration_seconds_count",
        route=route,
        method="POST",
        status=str(status),
    )


def test_each_thin_route_is_labelled_with_djangos_pattern_for_its_urls():
    # The same endpoint's answers add up whichever path gave them.
    for route in ROUTES:
        example = route.pattern.pattern.replace("(?P<slug>[-a-zA-Z0-9_]+)", "some-slug")
        assert resolve(example).route == route.label, route


@pytest.mark.django_db(transaction=True)
def test_a_draw_is_counted_once_committed_and_not_when_rolled_back():
    coupon_type = CouponTypeFactory(probability=1)
    campaign = coupon_type.campaign
    won = value("couponsite_draws_total", outcome="won")

    # when a draw's transaction rolls back
    with pytest.raises(RuntimeError), transaction.atomic():
        draw_run(campaign=campaign, customer=CustomerFactory())
        raise RuntimeError("the caller's transaction fails after the draw")

    # then nothing was counted, and the draw is not there
    assert Draw.objects.count() == 0
    assert value("couponsite_draws_total", outcome="won") == won

    # and a committed one is counted once
    draw_run(campaign=campaign, customer=CustomerFactory())
    assert value("couponsite_draws_total", outcome="won") == won + 1


@pytest.mark.django_db(transaction=True)
def test_a_lost_draw_a_claim_and_a_redemption_are_counted_when_committed():
    draw_type = CouponTypeFactory(probability="0.5")
    lost = value("couponsite_draws_total", outcome="lost")
    campaign = claim_campaign(released=1)
    claims = value("couponsite_claims_total")
    redemptions = value("couponsite_redemptions_total")
    customer = CustomerFactory()

    draw_run(campaign=draw_type.campaign, customer=customer, roll=0.75)
    claim = claim_take(campaign=campaign, customer=customer)
    voucher_redeem(code=claim.voucher.code, customer=customer)

    assert value("couponsite_draws_total", outcome="lost") == lost + 1
    assert value("couponsite_claims_total") == claims + 1
    assert value("couponsite_redemptions_total") == redemptions + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("thin_path")
def test_thin_and_django_answers_are_counted_by_route_status_and_code(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "draw_customer": "5/minute"}
    with time_machine.travel(NOW, tick=False):
        campaign = CampaignFactory(
            slug="lucky",
            timezone="Asia/Taipei",
            starts_at=NOW - dt.timedelta(days=1),
            ends_at=NOW + dt.timedelta(hours=1),
        )
        CouponTypeFactory(campaign=campaign, probability=1, valid_days=3650)
        (first, _), (second, _) = signed_in(), signed_in()
        held(campaign.slug)
        assert campaign_odds(campaign)  # held too, as after Django drew
        assert day_seed(campaign.pk, campaign.local_day())  # and today's seed
        created, refused = answers(DRAWS_ROUTE, 201), answers(DRAWS_ROUTE, 429)
        drawn = value("couponsite_draws_total", outcome="won")
        repeats = value("couponsite_refusals_total", code="ALREADY_DRAWN_TODAY")

        # a first draw on the thin path (group commit), then its repeat there
        passed, status, _, _ = thin_answer(DRAWS, first)
        assert (passed, status) == (False, 201)
        passed, status, _, _ = thin_answer(DRAWS, first)
        assert (passed, status) == (False, 429)
        # and a first draw Django answers (an Idempotency-Key sends it there)
        [(status, _)] = served_race(
            DRAWS, [(second, None, [(b"idempotency-key", b"k-1")])]
        )[0]
        assert status == 201

    assert answers(DRAWS_ROUTE, 201) == created + 2
    assert answers(DRAWS_ROUTE, 429) == refused + 1
    assert value("couponsite_draws_total", outcome="won") == drawn + 2
    assert value("couponsite_refusals_total", code="ALREADY_DRAWN_TODAY") == (
        repeats + 1
    )
