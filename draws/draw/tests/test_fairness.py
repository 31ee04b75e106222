"""Draws anyone can verify (issue 15, draws/draw/fairness.py): the day's seed,
published as a hash before the first draw and revealed after the day; every
roll re-derived by the customer (the API) and the operator (verify_draws)."""

import asyncio
import datetime as dt
import hashlib
import hmac
import io
import logging

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connections
from rest_framework.test import APIClient

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.group_commit import GroupCommitter
from couponsite.testing import race
from customers.models import Customer
from customers.services import token_create
from customers.tests.factories import CustomerFactory
from draws.draw import fairness
from draws.draw.fairness import (
    day_seed,
    draw_seed_ensure,
    draw_seeds_prepare,
    roll_from_seed,
)
from draws.draw.group_commit import draw_submit
from draws.draw.models import Draw, DrawSeed
from draws.draw.services import draw_run, pick_coupon_type

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TOKYO = "Asia/Tokyo"
DAY = dt.date(2026, 4, 24)
# Noon in Tokyo on DAY; its local day ends at 15:00 UTC.
NOON = dt.datetime(2026, 4, 24, 3, 0, tzinfo=dt.UTC)
DAY_ENDS = dt.datetime(2026, 4, 24, 15, 0, tzinfo=dt.UTC)


def _campaign(**fields) -> Campaign:
    return CampaignFactory(
        **{
            "timezone": TOKYO,
            "starts_at": NOON - dt.timedelta(days=2),
            "ends_at": NOON + dt.timedelta(days=2),
            **fields,
        }
    )


def _client(customer: Customer) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    return client


def _verify(campaign: Campaign, day: dt.date) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command(
            "verify_draws", campaign=campaign.slug, day=day.isoformat(), stdout=out
        )
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


# --- The derivation ---------------------------------------------------------------


def test_the_roll_is_the_documented_hmac_and_reads_back_exactly():
    seed = bytes(range(32))

    roll = roll_from_seed(seed, campaign_id=12, day=DAY, customer_id=345)

    # the five lines the README gives anyone
    digest = hmac.new(seed, b"12:2026-04-24:345", hashlib.sha256).digest()
    assert roll == (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    assert 0 <= roll < 1
    # 53 bits: the float is the integer exactly, so what is stored reads back
    assert float(repr(roll)) == roll and (roll * 2**53).is_integer()
    # any part of the identity changes it
    others = {
        roll_from_seed(seed, campaign_id=13, day=DAY, customer_id=345),
        roll_from_seed(seed, campaign_id=12, day=DAY.replace(day=25), customer_id=345),
        roll_from_seed(seed, campaign_id=12, day=DAY, customer_id=346),
        roll_from_seed(bytes(32), campaign_id=12, day=DAY, customer_id=345),
    }
    assert roll not in others and len(others) == 4


def test_seeds_are_32_fresh_bytes_from_secrets_and_differ_by_day_and_campaign(
    monkeypatch,
):
    # given the OS CSPRNG watched (still the real one)
    drawn = []
    real = fairness.secrets.token_bytes

    def watched(n):
        drawn.append(real(n))
        return drawn[-1]

    monkeypatch.setattr(fairness.secrets, "token_bytes", watched)
    first, second = _campaign(), _campaign()

    # when seeds are made for two days of two campaigns
    seeds = [
        draw_seed_ensure(campaign_id=campaign.pk, day=day)
        for campaign in (first, second)
        for day in (DAY, DAY + dt.timedelta(days=1))
    ]

    # then each is 32 bytes straight from secrets, all differ, hashed as published
    stored = [bytes(seed.seed) for seed in seeds]
    assert stored == drawn and len(set(stored)) == 4
    assert all(len(seed) == 32 for seed in stored)
    assert all(
        seed.seed_hash == hashlib.sha256(bytes(seed.seed)).hexdigest() for seed in seeds
    )
    # asking again gives the same seed, made once
    assert bytes(draw_seed_ensure(campaign_id=first.pk, day=DAY).seed) == stored[0]
    assert DrawSeed.objects.count() == 4 and len(drawn) == 4


def test_processes_making_the_days_seed_at_once_end_with_one_seed():
    for _trial in range(5):
        campaign = _campaign()

        def make(_, campaign_id=campaign.pk):
            return bytes(draw_seed_ensure(campaign_id=campaign_id, day=DAY).seed)

        seeds = race(make, count=12)

        assert len(set(seeds)) == 1
        assert bytes(DrawSeed.objects.get(campaign=campaign, day=DAY).seed) == seeds[0]


def test_draw_run_rolls_the_days_seed_and_a_given_roll_is_not_from_the_seed():
    campaign = _campaign()
    CouponTypeFactory(campaign=campaign, probability=0.5)
    seeded, given = CustomerFactory.create_batch(2)

    draw = draw_run(campaign=campaign, customer=seeded, now=NOON)
    other = draw_run(campaign=campaign, customer=given, now=NOON, roll=0.75)

    seed = bytes(DrawSeed.objects.get(campaign=campaign, day=DAY).seed)
    assert draw.from_seed and Draw.objects.get(pk=draw.pk).from_seed
    assert Draw.objects.get(pk=draw.pk).roll == roll_from_seed(
        seed, campaign_id=campaign.pk, day=DAY, customer_id=seeded.pk
    )
    assert not Draw.objects.get(pk=other.pk).from_seed


# --- Published before, revealed after -------------------------------------------


@pytest.fixture
def logged(monkeypatch):
    """Every log record any logger handles, as text with its extras."""
    lines: list[str] = []
    handle = logging.Logger.handle

    def keep(logger, record):
        lines.append(f"{record.getMessage()} {record.__dict__!r}")
        return handle(logger, record)

    monkeypatch.setattr(logging.Logger, "handle", keep)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    disabled = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    yield lines
    logging.disable(disabled)


def test_before_the_day_ends_every_answer_has_the_hash_and_none_the_seed(logged):
    # given a draw campaign running today, one customer's draw made
    campaign = _campaign()
    CouponTypeFactory(campaign=campaign, probability=0.3, daily_quota=0)
    customer = CustomerFactory()
    client = _client(customer)

    with time_machine.travel(NOON, tick=False):
        # the hash is published before the day's first draw
        detail = client.get(f"/api/v1/campaigns/{campaign.slug}").json()
        fairness_block = detail["draw_fairness"]
        seed_row = DrawSeed.objects.get(campaign=campaign, day=DAY)
        assert fairness_block["day"] == DAY.isoformat()
        assert fairness_block["seed_hash"] == seed_row.seed_hash
        drawn = client.post(f"/api/v1/campaigns/{campaign.slug}/draws").json()
        seeds = client.get(f"/api/v1/campaigns/{campaign.slug}/draw-seeds")
        verification = client.get(
            f"/api/v1/campaigns/{campaign.slug}/draws/{drawn['id']}/verification"
        )
        detail_after = client.get(f"/api/v1/campaigns/{campaign.slug}")
        again = client.post(f"/api/v1/campaigns/{campaign.slug}/draws")  # logged

    # then the seed is in no answer and no log line; its hash is
    seed_hex = bytes(seed_row.seed).hex()
    assert [seeds.status_code, verification.status_code, again.status_code] == [
        200,
        200,
        429,
    ]
    for answer in [seeds, verification, detail_after, again]:
        assert seed_hex not in answer.content.decode().lower()
    # (the refused repeat is logged at least)
    assert any("Too Many Requests" in line for line in logged)
    raw = repr(bytes(seed_row.seed))
    assert not any(seed_hex in line or raw in line for line in logged)
    assert seeds.json()["results"] == [
        {
            "day": "2026-04-24",
            "seed_hash": seed_row.seed_hash,
            "revealed": False,
            "seed": None,
        }
    ]
    body = verification.json()
    assert (body["seed"], body["verified"], body["revealed"]) == (None, None, False)
    assert body["seed_hash"] == seed_row.seed_hash and body["verifiable"]

    # and once the local day has ended, the seed is shown and checks out
    with time_machine.travel(DAY_ENDS, tick=False):
        seeds = client.get(f"/api/v1/campaigns/{campaign.slug}/draw-seeds").json()
        body = client.get(
            f"/api/v1/campaigns/{campaign.slug}/draws/{drawn['id']}/verification"
        ).json()
    (shown,) = seeds["results"]
    assert shown["revealed"] and shown["seed"] == seed_hex
    assert (
        hashlib.sha256(bytes.fromhex(shown["seed"])).hexdigest() == shown["seed_hash"]
    )
    assert (body["seed"], body["verified"], body["mismatches"]) == (seed_hex, True, [])
    assert body["roll"] == roll_from_seed(
        bytes.fromhex(seed_hex),
        campaign_id=campaign.pk,
        day=DAY,
        customer_id=customer.pk,
    )


def test_the_back_office_shows_the_hash_and_the_seed_only_once_revealed(
    django_user_model,
):
    campaign = _campaign()
    seed_row = draw_seed_ensure(campaign_id=campaign.pk, day=DAY)
    seed_hex = bytes(seed_row.seed).hex()
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client = APIClient()
    client.force_login(user)
    page = f"/admin/campaigns/campaign/{campaign.pk}/change/"

    with time_machine.travel(NOON, tick=False):
        during = client.get(page).content.decode()
    with time_machine.travel(DAY_ENDS, tick=False):
        after = client.get(page).content.decode()

    assert seed_row.seed_hash in during and seed_hex not in during
    assert seed_row.seed_hash in after and seed_hex in after


# --- The customer's check ---------------------------------------------------------


def test_a_customer_checks_only_their_own_draw_and_sees_a_spent_quota():
    # given a prize whose quota is spent: the roll hits it and loses
    campaign = _campaign()
    prize = CouponTypeFactory(campaign=campaign, probability=1, daily_quota=0)
    owner, stranger = CustomerFactory.create_batch(2)
    draw = draw_run(campaign=campaign, customer=owner, now=NOON)
    url = f"/api/v1/campaigns/{campaign.slug}/draws/{draw.pk}/verification"

    with time_machine.travel(DAY_ENDS, tick=False):
        mine = _client(owner).get(url)
        theirs = _client(stranger).get(url)
        anonymous = APIClient().get(url)
        too_big = _client(owner).get(
            f"/api/v1/campaigns/{campaign.slug}/draws/{2**64}/verification"
        )

    body = mine.json()
    assert (body["coupon_type"], body["won"], body["quota_spent"]) == (
        prize.pk,
        False,
        True,
    )
    assert body["odds"] == [{"coupon_type": prize.pk, "probability": 1.0}]
    assert body["verified"] is True
    assert body["identity"] == f"{campaign.pk}:{DAY.isoformat()}:{owner.pk}"
    assert theirs.status_code == 404 and theirs.json()["code"] == "NOT_FOUND"
    assert too_big.status_code == 404
    assert anonymous.status_code == 401


def test_a_draw_made_before_seeds_is_not_verifiable():
    campaign = _campaign()
    CouponTypeFactory(campaign=campaign, probability=0.5)
    customer = CustomerFactory()
    old = draw_run(campaign=campaign, customer=customer, now=NOON, roll=0.9)

    body = (
        _client(customer)
        .get(f"/api/v1/campaigns/{campaign.slug}/draws/{old.pk}/verification")
        .json()
    )

    assert (body["verifiable"], body["seed_hash"], body["verified"]) == (
        False,
        None,
        None,
    )
    output, error = _verify(campaign, DAY)
    assert error is None
    assert "checked 0, not verifiable (made before seeds) 1, mismatches 0" in output


def test_the_seed_list_is_for_draw_campaigns_only():
    claim = CampaignFactory(kind=Campaign.Kind.CLAIM)

    answer = APIClient().get(f"/api/v1/campaigns/{claim.slug}/draw-seeds")
    detail = APIClient().get(f"/api/v1/campaigns/{claim.slug}").json()

    assert answer.status_code == 409 and answer.json()["code"] == "WRONG_CAMPAIGN_KIND"
    assert detail["draw_fairness"] is None


# --- The schedule -----------------------------------------------------------------


def test_the_schedule_makes_today_and_tomorrow_ahead_for_draw_campaigns_that_may_run():
    running = _campaign()
    last_day = _campaign(ends_at=NOON + dt.timedelta(hours=1))
    _campaign(status=Campaign.Status.DRAFT)
    _campaign(ends_at=NOON - dt.timedelta(hours=1))
    CampaignFactory(kind=Campaign.Kind.CLAIM, timezone=TOKYO)

    with time_machine.travel(NOON, tick=False):
        assert draw_seeds_prepare() == 3
        assert draw_seeds_prepare() == 3  # again: nothing new

    assert sorted(
        DrawSeed.objects.values_list("campaign_id", "day").order_by("campaign", "day")
    ) == [
        (running.pk, DAY),
        (running.pk, DAY + dt.timedelta(days=1)),
        (last_day.pk, DAY),
    ]


# --- The operator's check of a whole day: 10,000 draws ------------------------------


def _draw_day(campaign: Campaign, people: list[Customer], odds: list) -> None:
    """Every customer's draw of DAY as the thin path makes it: rolled from the
    day's seed, committed by the group committer."""
    seed = day_seed(campaign.pk, DAY)

    async def main():
        committer = GroupCommitter()
        try:
            for start in range(0, len(people), 1000):
                chunk = people[start : start + 1000]
                rolls = [
                    roll_from_seed(
                        seed, campaign_id=campaign.pk, day=DAY, customer_id=p.pk
                    )
                    for p in chunk
                ]
                await asyncio.gather(
                    *(
                        draw_submit(
                            committer,
                            campaign_id=campaign.pk,
                            day=DAY,
                            customer_id=person.pk,
                            roll=roll,
                            coupon_type_id=pick_coupon_type(odds, roll),
                            odds=odds,
                            retry_after=600.0,
                            now=NOON,
                            from_seed=True,
                        )
                        for person, roll in zip(chunk, rolls, strict=True)
                    )
                )
        finally:
            await committer.aclose()

    asyncio.run(main())
    connections.close_all()


def test_a_day_of_ten_thousand_draws_verifies_and_a_tampered_row_is_named():
    # given a day of 10,000 draws, a limited prize among them (spent quotas)
    campaign = _campaign()
    limited = CouponTypeFactory(campaign=campaign, probability=0.1, daily_quota=300)
    open_ = CouponTypeFactory(campaign=campaign, probability=0.2)
    people = Customer.objects.bulk_create(
        Customer(phone=f"+1415{7_000_000 + n:07d}", name=f"Customer {n}")
        for n in range(10_000)
    )
    odds = [[limited.pk, 0.1], [open_.pk, 0.2]]
    _draw_day(campaign, people, odds)
    assert Draw.objects.filter(campaign=campaign, day=DAY, from_seed=True).count() == (
        10_000
    )
    assert Draw.objects.filter(coupon_type=limited, won=True).count() == 300
    assert Draw.objects.filter(coupon_type=limited, won=False).count() > 0

    # when the operator checks the day, every roll derives from the seed
    output, error = _verify(campaign, DAY)
    assert error is None, output
    assert "checked 10000, not verifiable (made before seeds) 0, mismatches 0" in output
    assert DrawSeed.objects.get(campaign=campaign).seed_hash in output

    # when one row's roll is changed (to a roll that still loses)
    lost = (
        Draw.objects.filter(campaign=campaign, coupon_type__isnull=True, roll__gt=0.5)
        .order_by("id")
        .first()
    )
    Draw.objects.filter(pk=lost.pk).update(roll=lost.roll - 0.1)
    output, error = _verify(campaign, DAY)

    # then exactly that draw is named, and the command fails
    assert error is not None and error.returncode == 1
    mismatch_lines = [line for line in output.splitlines() if line.startswith("roll:")]
    assert mismatch_lines == [
        f"roll: draw {lost.pk} (customer {lost.customer_id}): stored "
        f"{lost.roll - 0.1!r}, derived {lost.roll!r}"
    ]
    assert "mismatches 1" in output

    # when instead the seed is swapped after the fact
    Draw.objects.filter(pk=lost.pk).update(roll=lost.roll)
    DrawSeed.objects.filter(campaign=campaign).update(seed=bytes(32))
    output, error = _verify(campaign, DAY)

    # then the seed no longer matches its published hash, nor any roll
    assert error is not None
    assert output.splitlines()[0].startswith("seed_hash: the day's seed")
    assert "mismatches 10001" in output


def test_verify_draws_names_an_unknown_campaign():
    with pytest.raises(CommandError, match="No draw campaign"):
        call_command("verify_draws", campaign="nope", day="2026-04-24")
