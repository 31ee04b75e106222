"""The pool's pick (``draws.pool.pool_pick``), as claims and Postgres-only grabs use it."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from draws import pool
from draws.claim.releases import batch_release
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, first_type, make_customers
from vouchers.models import Voucher

pytestmark = pytest.mark.postgres


def _free(coupon_type):
    return Voucher.objects.filter(
        coupon_type=coupon_type, status=Voucher.Status.AVAILABLE
    ).values_list("id", flat=True)


def _pick(coupon_type, *, key="test", wait=False):
    return pool.pool_pick(
        _free(coupon_type),
        spread_over=Voucher.objects.filter(coupon_type=coupon_type),
        range_key=key,
        wait=wait,
    )


@pytest.fixture(autouse=True)
def _no_remembered_ranges():
    pool.pool_forget_id_range()
    yield
    pool.pool_forget_id_range()


@pytest.mark.django_db
def test_the_claim_pick_starts_at_an_id_in_order_and_skips_locked_rows():
    campaign = claim_campaign(released=20)
    (customer,) = make_customers(1)

    with CaptureQueriesContext(connection) as queries:
        claim_take(campaign=campaign, customer=customer)

    pick = next(q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"])
    assert '"vouchers_voucher"."id" >= ' in pick
    assert 'ORDER BY "vouchers_voucher"."id" ASC' in pick
    assert pick.endswith("FOR UPDATE SKIP LOCKED")


@pytest.mark.django_db
def test_a_stale_range_is_a_hint_rows_outside_it_are_still_found():
    coupon_type = first_type(claim_campaign(released=3))
    ids = sorted(_free(coupon_type))
    far_below, far_above = (0, 0), (ids[-1] + 1000, ids[-1] + 2000)

    for low, high in (far_below, far_above):
        pool._id_ranges["test"] = (float("inf"), low, high)
        with transaction.atomic():
            assert _pick(coupon_type) == ids[0]


@pytest.mark.django_db
def test_a_release_forgets_this_process_s_range_of_the_type(
    django_capture_on_commit_callbacks,
):
    campaign = claim_campaign(released=2)
    coupon_type = first_type(campaign)
    (customer,) = make_customers(1)
    claim_take(campaign=campaign, customer=customer)
    assert any(key.endswith(f":{coupon_type.pk}") for key in pool._id_ranges)

    with django_capture_on_commit_callbacks(execute=True):
        batch_release(acting_user=None, coupon_type=coupon_type, count=2)
        assert any(key.endswith(f":{coupon_type.pk}") for key in pool._id_ranges)

    assert not any(key.endswith(f":{coupon_type.pk}") for key in pool._id_ranges)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("wait", [False, True])
def test_a_pick_waits_for_locked_rows_only_when_asked(wait):
    """The only free coupon is locked by a transaction that then rolls back: a
    claim-style pick answers "none" at once, a rush-style pick waits and gets it."""
    coupon_type = first_type(claim_campaign(released=1))
    (only,) = _free(coupon_type)
    locked, release = threading.Event(), threading.Event()

    def hold_then_roll_back():
        try:
            with transaction.atomic():
                Voucher.objects.select_for_update().get(pk=only)
                Voucher.objects.filter(pk=only).update(status=Voucher.Status.ISSUED)
                locked.set()
                release.wait(10)
                transaction.set_rollback(True)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_then_roll_back)
    holder.start()
    assert locked.wait(10)
    if wait:
        threading.Timer(0.5, release.set).start()
    started = timezone.now()
    with transaction.atomic():
        picked = _pick(coupon_type, wait=wait)
    waited = (timezone.now() - started).total_seconds()
    release.set()
    holder.join(10)

    if wait:
        assert (picked, waited >= 0.4) == (only, True)
    else:
        assert (picked, waited < 0.4) == (None, True)
