"""A blocked customer (customers.services.blocking) is refused CUSTOMER_BLOCKED in
every mode (draw, claim, reservation, grab), on every path:

- Django (the services, with and without Redis);
- the thin path, which steps aside for them (no thin entry), so Django answers;
- the thin path with an entry that outlived the block (Redis missed the stale
  mark): the group-commit writer reads the block in its transaction and refuses.
"""

import datetime as dt
import json

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from campaigns.selectors import campaign_by_slug, campaign_odds
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.testing.thin import django_answer, thin_answer
from customers.authentication import remember_token
from customers.models import ApiToken, Customer
from customers.services import (
    CustomerBlocked,
    customer_block,
    customer_unblock,
    token_create,
)
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.draw.fairness import day_seed
from draws.draw.services import draw_run
from draws.models import Claim, Draw, Grab, Reservation
from draws.rush.services import (
    rush_grab,
    rush_local_state_clear,
    rush_reserve,
    rush_warm,
)
from draws.rush.tests.rush_support import (
    DAY,
    RESERVING,
    RUSHING,
    client_for,
    customers,
    rush_campaign,
)
from draws.tests.thin_support import held, signed_in
from vouchers.models import Voucher

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

NOW = dt.datetime(2026, 4, 24, 15, 30, 0, 400_000, tzinfo=dt.UTC)
DRAWS = "/api/v1/campaigns/lucky/draws"
CLAIMS = "/api/v1/campaigns/drop/claims"
RESERVATIONS = "/api/v1/campaigns/tonight/reservations"
GRABS = "/api/v1/campaigns/tonight/grabs"
BLOCKED = {
    "code": "CUSTOMER_BLOCKED",
    "detail": "This account may not take part in campaigns; contact the shop's "
    "support.",
}


@pytest.fixture(autouse=True)
def _roomy_limits(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        **{
            f"{scope}_{who}": "off"
            for scope in ("draw", "claim", "reserve", "grab")
            for who in ("customer", "ip")
        },
    }
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def _refused(answer) -> bool:
    status, _, body = answer
    return status == 403 and json.loads(body) == BLOCKED


def _entry_outlives_block(token: str, customer) -> None:
    """What a block leaves when Redis missed its stale mark: the thin entry."""
    remember_token(
        digest=ApiToken.digest_of(token),
        customer_id=customer.pk,
        expires_at=timezone.now() + dt.timedelta(days=1),
        create=True,
    )


def _draw_campaign():
    campaign = CampaignFactory(
        slug="lucky",
        timezone="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
    )
    CouponTypeFactory(campaign=campaign, probability=1, valid_days=3650)
    return campaign


@pytest.mark.parametrize("redis_up", [True, False])
def test_a_blocked_customer_cannot_draw_through_django(request, redis_up):
    if not redis_up:
        request.getfixturevalue("redis_down")
    with time_machine.travel(NOW, tick=False):
        _draw_campaign()
        _, client = signed_in()
        customer_block(customer=client.customer, acting_user=None, reason="pumping")

        assert _refused(django_answer(client, DRAWS))

        customer_unblock(customer=client.customer, acting_user=None, reason="ok")
        assert django_answer(client, DRAWS)[0] == 201
    assert Draw.objects.count() == 1


@pytest.mark.usefixtures("thin_path")
def test_a_blocked_customer_cannot_draw_on_the_thin_path():
    with time_machine.travel(NOW, tick=False):
        # given a customer who drew nothing yet, blocked after signing in
        campaign = _draw_campaign()
        token, client = signed_in()
        held("lucky")
        assert campaign_odds(campaign)
        assert cache.get(f"token:{ApiToken.digest_of(token)}") is None
        customer_block(customer=client.customer, acting_user=None, reason="pumping")

        # then the thin path steps aside, and Django refuses
        passed, *_ = thin_answer(DRAWS, token)
        assert passed
        assert _refused(django_answer(client, DRAWS))

        # and an entry that outlived the block: the group's writer refuses
        _entry_outlives_block(token, client.customer)
        held("lucky")
        assert campaign_odds(campaign)
        assert day_seed(campaign.pk, campaign.local_day())  # a first draw stays thin
        passed, status, _, body = thin_answer(DRAWS, token)
        assert not passed and _refused((status, None, body))
    assert not Draw.objects.exists() and not Voucher.objects.exists()


def _claim_campaign():
    return claim_campaign(
        slug="drop",
        tz="Asia/Taipei",
        starts_at=NOW - dt.timedelta(days=1),
        ends_at=NOW + dt.timedelta(hours=1),
        released=3,
    )


@pytest.mark.parametrize("redis_up", [True, False])
def test_a_blocked_customer_cannot_claim_through_django(request, redis_up):
    if not redis_up:
        request.getfixturevalue("redis_down")
    with time_machine.travel(NOW, tick=False):
        _claim_campaign()
        _, client = signed_in()
        customer_block(customer=client.customer, acting_user=None, reason="pumping")

        assert _refused(django_answer(client, CLAIMS))
    assert not Claim.objects.exists()


@pytest.mark.usefixtures("thin_single_node", "thin_path")
def test_a_blocked_customer_cannot_claim_on_the_thin_path():
    with time_machine.travel(NOW, tick=False):
        _claim_campaign()
        token, client = signed_in()
        held("drop")
        customer_block(customer=client.customer, acting_user=None, reason="pumping")

        passed, *_ = thin_answer(CLAIMS, token)
        assert passed
        assert _refused(django_answer(client, CLAIMS))

        _entry_outlives_block(token, client.customer)
        held("drop")
        passed, status, _, body = thin_answer(CLAIMS, token)
        assert not passed and _refused((status, None, body))
    assert not Claim.objects.exists()
    assert not Voucher.objects.filter(owner=client.customer).exists()


def _rush():
    """A rush with five reserved customers (one coupon at the default ratio)
    and one who did not reserve."""
    campaign = rush_campaign(slug="tonight")
    people = customers(6)
    with time_machine.travel(RESERVING, tick=False):
        for person in people[:5]:
            assert client_for(person).post(RESERVATIONS).status_code == 201
    return campaign, people


@pytest.mark.parametrize("redis_up", [True, False])
def test_a_blocked_customer_cannot_reserve_or_grab_through_django(request, redis_up):
    if not redis_up:
        request.getfixturevalue("redis_down")
    campaign, people = _rush()
    reserved, late = people[0], people[5]
    customer_block(customer=reserved, acting_user=None, reason="pumping")
    customer_block(customer=late, acting_user=None, reason="pumping")

    with time_machine.travel(RESERVING, tick=False):
        assert _refused(django_answer(client_for(late), RESERVATIONS))
    with time_machine.travel(RUSHING, tick=False):
        if redis_up:
            rush_warm(campaign=campaign, day=DAY, now=RUSHING)
        assert _refused(django_answer(client_for(reserved), GRABS))
        # the coupon Redis offered went back: an unblocked customer gets it
        assert django_answer(client_for(people[1]), GRABS)[0] == 201
    assert not Reservation.objects.filter(customer=late).exists()
    assert list(Grab.objects.values_list("customer", flat=True)) == [people[1].pk]


@pytest.mark.usefixtures("thin_path")
def test_a_blocked_customer_cannot_reserve_or_grab_on_the_thin_path():
    campaign, people = _rush()
    reserved, late = people[0], people[5]
    reserved_token = token_create(customer=reserved).key
    late_token = token_create(customer=late).key
    customer_block(customer=reserved, acting_user=None, reason="pumping")
    customer_block(customer=late, acting_user=None, reason="pumping")

    with time_machine.travel(RESERVING, tick=False):
        held("tonight")
        passed, *_ = thin_answer(RESERVATIONS, late_token)
        assert passed
        assert _refused(django_answer(client_for(late), RESERVATIONS))
        _entry_outlives_block(late_token, late)
        held("tonight")
        passed, status, _, body = thin_answer(RESERVATIONS, late_token)
        assert not passed and _refused((status, None, body))

    with time_machine.travel(RUSHING, tick=False):
        rush_warm(campaign=campaign, day=DAY, now=RUSHING)
        held("tonight")
        assert campaign_by_slug("tonight") is not None
        passed, *_ = thin_answer(GRABS, reserved_token)
        assert passed
        assert _refused(django_answer(client_for(reserved), GRABS))

        _entry_outlives_block(reserved_token, reserved)
        held("tonight")
        passed, status, _, body = thin_answer(GRABS, reserved_token)
        assert not passed and _refused((status, None, body))
        # the coupon went back to the stock: an unblocked customer grabs it
        passed, status, _, _ = thin_answer(GRABS, token_create(customer=people[1]).key)
        assert (passed, status) == (False, 201)

    assert not Reservation.objects.filter(customer=late).exists()
    assert list(Grab.objects.values_list("customer", flat=True)) == [people[1].pk]


def test_a_block_committed_before_the_write_is_honoured_whatever_was_loaded():
    """The services read the block again in their write's transaction: a
    customer loaded before the block (a cached token owner) is refused too."""
    with time_machine.travel(NOW, tick=False):
        draw_campaign, claim = _draw_campaign(), _claim_campaign()
        loaded = customers(1, start=50)[0]
        customer_block(
            customer=Customer.objects.get(pk=loaded.pk),
            acting_user=None,
            reason="pumping",
        )
        assert loaded.blocked_at is None  # as loaded before the block

        with pytest.raises(CustomerBlocked):
            draw_run(campaign=draw_campaign, customer=loaded)
        with pytest.raises(CustomerBlocked):
            claim_take(campaign=claim, customer=loaded)
    assert not Draw.objects.exists() and not Claim.objects.exists()


def test_a_grab_of_a_customer_loaded_before_the_block_gives_the_coupon_back():
    campaign, people = _rush()
    loaded, late = people[0], people[5]
    for person in (loaded, late):  # blocked through other instances
        customer_block(
            customer=Customer.objects.get(pk=person.pk), acting_user=None, reason="x"
        )
    with time_machine.travel(RESERVING, tick=False), pytest.raises(CustomerBlocked):
        rush_reserve(campaign=campaign, customer=people[5])
    with time_machine.travel(RUSHING, tick=False):
        rush_warm(campaign=campaign, day=DAY, now=RUSHING)
        with pytest.raises(CustomerBlocked):
            rush_grab(campaign=campaign, customer=loaded)
        # the coupon Redis offered went back: the next one gets it
        assert rush_grab(campaign=campaign, customer=people[1]).customer_id == (
            people[1].pk
        )
    assert list(Grab.objects.values_list("customer", flat=True)) == [people[1].pk]
