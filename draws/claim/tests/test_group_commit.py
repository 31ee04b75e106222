"""First claims committed in groups against real Postgres: claim_take's rules for
a batch (once a day, one holder per coupon, a lapsed hold taken again, nothing
half-written when the pool runs short), each answer its own row and
ClaimSerializer's bytes, failures kept to themselves.

Each test runs a committer in an event loop of its own (``asyncio.run``); the ORM
sets up and checks from the test's thread, outside any loop.
"""

import asyncio
import datetime as dt
import json

import pytest
from rest_framework.renderers import JSONRenderer

from couponsite.group_commit import GroupCommitFailed, GroupCommitter
from draws.claim import group_commit
from draws.claim.api import ClaimSerializer
from draws.claim.releases import batch_release
from draws.claim.services import AlreadyClaimedToday, claim_take
from draws.claim.tests.claim_helpers import (
    assert_pool_invariants,
    claim_campaign,
    first_type,
    make_customers,
)
from draws.models import Claim
from vouchers.models import Voucher, VoucherEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOBODY = 10**12  # a customer id that does not exist
# 23:50 in Los Angeles (07:50 UTC the next day): ten minutes to local midnight.
LATE = dt.datetime(2026, 4, 25, 6, 50, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 24)


def _campaign(released: int, **fields):
    return claim_campaign(
        tz="America/Los_Angeles",
        starts_at=LATE - dt.timedelta(days=3),
        ends_at=LATE + dt.timedelta(days=3),
        released=released,
        **fields,
    )


def _claim_all(campaign, customer_ids, *, now=LATE, **options):
    """Every customer's first claim, all queued at once: one batch."""

    async def main():
        committer = GroupCommitter(**options)
        try:
            answers = await asyncio.gather(
                *(
                    group_commit.claim_submit(
                        committer,
                        campaign_id=campaign.pk,
                        day=DAY,
                        customer_id=customer_id,
                        retry_after=600.0,
                        now=now,
                    )
                    for customer_id in customer_ids
                ),
                return_exceptions=True,
            )
            return answers, vars(committer.stats).copy()
        finally:
            await committer.aclose()

    return asyncio.run(main())


def _rendered(claim: Claim, now=LATE) -> bytes:
    claim = Claim.objects.select_related(
        "voucher__coupon_type", "voucher__campaign", "voucher__offer"
    ).get(pk=claim.pk)
    return JSONRenderer().render(ClaimSerializer(claim, context={"now": now}).data)


def test_a_batch_gives_each_customer_their_own_coupon_and_body():
    campaign = _campaign(released=30)
    people = make_customers(20)

    answers, stats = _claim_all(campaign, [p.pk for p in people])

    assert stats["transactions"] == 1 and stats["largest_batch"] == 20
    claims = {c.customer_id: c for c in Claim.objects.filter(campaign=campaign)}
    assert len(claims) == 20
    assert len({c.voucher_id for c in claims.values()}) == 20
    for person, answer in zip(people, answers, strict=True):
        claim = claims[person.pk]
        assert (answer.id, answer.customer_id) == (claim.pk, person.pk)
        assert (claim.day, claim.created_at) == (DAY, LATE)
        assert claim.held_until == LATE + dt.timedelta(seconds=300)
        assert answer.body == _rendered(claim)
        voucher = claim.voucher
        assert (voucher.status, voucher.owner_id, voucher.email) == (
            Voucher.Status.HELD,
            person.pk,
            person.email,
        )
        assert (voucher.held_until, voucher.issued_at) == (claim.held_until, LATE)
    assert Voucher.objects.filter(status=Voucher.Status.AVAILABLE).count() == 10
    assert_pool_invariants()


def test_rows_and_history_are_claim_takes():
    # given two pools: one claimed through Django, one through the batch
    campaign = _campaign(released=2)
    django_customer, thin_customer = make_customers(2)
    django_claim = claim_take(campaign=campaign, customer=django_customer, now=LATE)

    (answer,), _ = _claim_all(campaign, [thin_customer.pk])

    claim = Claim.objects.get(pk=answer.id)

    def history(claim):
        return [
            (
                *(e.kind, e.campaign_id, e.customer_id, e.actor_id, e.reason),
                *(e.created_at, sorted(e.data), e.data["held_until"]),
            )
            for e in VoucherEvent.objects.filter(voucher=claim.voucher_id)
        ]

    ours, theirs = history(claim), history(django_claim)
    assert [e[:2] + e[3:] for e in ours] == [e[:2] + e[3:] for e in theirs]
    assert VoucherEvent.objects.get(voucher=claim.voucher_id).data["claim"] == claim.pk
    # the body is Django's but for the claim's own id, code and email
    assert answer.body == _rendered(claim)
    ours_data, django_data = (
        json.loads(answer.body),
        json.loads(_rendered(django_claim)),
    )
    for data in (ours_data, django_data):
        del data["id"], data["voucher"]["code"], data["voucher"]["email"]
    assert ours_data == django_data


def test_repeats_in_a_batch_and_across_batches_and_paths_are_refused():
    campaign = _campaign(released=10)
    twice, django_first, fresh = make_customers(3)
    claim_take(campaign=campaign, customer=django_first, now=LATE)

    answers, _ = _claim_all(campaign, [twice.pk, django_first.pk, twice.pk, fresh.pk])
    again, _ = _claim_all(campaign, [fresh.pk])

    first, refused, repeat, claimed = answers
    assert first.customer_id == twice.pk and claimed.customer_id == fresh.pk
    for refusal in (refused, repeat, again[0]):
        assert isinstance(refusal, AlreadyClaimedToday)
        assert refusal.retry_after == 600.0
    assert Claim.objects.filter(campaign=campaign).count() == 3
    assert_pool_invariants()


def test_a_pool_smaller_than_the_batch_is_handed_out_and_the_rest_go_to_django():
    campaign = _campaign(released=3)
    people = make_customers(8)
    claimed_before = make_customers(1, start=8000)[0]
    # a claim of the day (of another coupon): refused, not sent to Django
    batch_release(acting_user=None, coupon_type=first_type(campaign), count=1)
    claim_take(campaign=campaign, customer=claimed_before, now=LATE)

    answers, stats = _claim_all(campaign, [claimed_before.pk] + [p.pk for p in people])

    assert isinstance(answers[0], AlreadyClaimedToday)
    served = [a for a in answers[1:] if isinstance(a, group_commit.Claimed)]
    passed = [a for a in answers[1:] if isinstance(a, GroupCommitFailed)]
    assert [a.customer_id for a in served] == [p.pk for p in people[:3]]
    assert len(passed) == 5 and not any(p.outcome_unknown for p in passed)
    assert stats["failed"] == 0 and stats["transactions"] == 1
    # nothing half-written: a claim for each coupon held, none without one
    assert Claim.objects.filter(campaign=campaign).count() == 4
    assert not Voucher.objects.filter(status=Voucher.Status.AVAILABLE).exists()
    assert_pool_invariants()


def test_a_hold_that_ran_out_is_taken_again_and_recorded():
    # given the only coupon, held by someone whose hold ran out
    campaign = _campaign(released=1)
    earlier, later = make_customers(2)
    first = claim_take(
        campaign=campaign, customer=earlier, now=LATE - dt.timedelta(minutes=6)
    )

    (answer,), _ = _claim_all(campaign, [later.pk])

    claim = Claim.objects.get(pk=answer.id)
    assert claim.voucher_id == first.voucher_id
    assert answer.body == _rendered(claim)
    expired = VoucherEvent.objects.get(
        voucher=claim.voucher_id, kind=VoucherEvent.Kind.EXPIRED
    )
    assert (expired.customer_id, expired.reason, expired.created_at) == (
        earlier.pk,
        "Hold ran out; the coupon was claimed again.",
        LATE,
    )
    assert expired.data == {"held_until": first.held_until.isoformat()}
    assert_pool_invariants()


def test_a_running_hold_is_never_taken():
    campaign = _campaign(released=1)
    earlier, later = make_customers(2)
    claim_take(campaign=campaign, customer=earlier, now=LATE - dt.timedelta(minutes=4))

    (answer,), _ = _claim_all(campaign, [later.pk])

    assert isinstance(answer, GroupCommitFailed)
    assert Claim.objects.count() == 1


def test_a_request_that_cannot_be_written_fails_alone():
    campaign = _campaign(released=5)
    people = make_customers(3)

    answers, stats = _claim_all(
        campaign, [people[0].pk, NOBODY, *(p.pk for p in people[1:])]
    )

    assert isinstance(answers[1], GroupCommitFailed)
    assert not answers[1].outcome_unknown
    assert [answers[i].customer_id for i in (0, 2, 3)] == [p.pk for p in people]
    assert stats["retried_alone"] == 4 and stats["failed"] == 1
    assert Claim.objects.count() == 3
    assert Voucher.objects.filter(status=Voucher.Status.HELD).count() == 3
    assert_pool_invariants()
