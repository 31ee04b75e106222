"""The scheduled jobs of draws (``draws.tasks``): each run by the real worker
does its job; twice, or twice at once, it changes nothing more than once; the
rush is loaded once per campaign and day after its reservations close; the
nightly audit keeps its result, which the back office's start page shows."""

import datetime as dt

import pytest
import time_machine
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CouponType
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.models import JobRun
from couponsite.redis_client import get_redis
from couponsite.testing import race
from couponsite.testing.tasks import run_queued_tasks
from customers.tests.factories import CustomerFactory
from draws import tasks
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.draw.models import DrawSeed
from draws.draw.services import draw_run
from draws.invariants import AuditRun
from draws.rush.services import RushKeys, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import DAY, RESERVING, at, customers, rush_campaign
from vouchers.models import Voucher, VoucherEvent

pytestmark = [pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _fresh_rush_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


def _lapsed_holds(count: int) -> list[int]:
    """``count`` claims whose 60-second hold ran out ten minutes ago; their coupons."""
    drop = claim_campaign(slug="lapsing", hold_seconds=60, released=count)
    past = timezone.now() - dt.timedelta(minutes=10)
    return [
        claim_take(campaign=drop, customer=person, now=past).voucher_id
        for person in make_customers(count)
    ]


def _history():
    return sorted(
        VoucherEvent.objects.filter(kind=VoucherEvent.Kind.EXPIRED).values_list(
            "voucher_id", "customer_id"
        )
    )


# --- Lapsed holds, every minute --------------------------------------------------------


@pytest.mark.django_db
def test_lapsed_holds_go_back_to_the_pool_through_the_worker_once():
    coupons = _lapsed_holds(3)
    running = claim_take(
        campaign=claim_campaign(slug="running", released=1), customer=CustomerFactory()
    )

    result = tasks.release_expired_holds.enqueue()
    assert run_queued_tasks() == 1

    assert tasks.release_expired_holds.get_result(result.id).return_value == 3
    assert set(
        Voucher.objects.filter(pk__in=coupons).values_list("status", "owner")
    ) == {(Voucher.Status.AVAILABLE, None)}
    assert Voucher.objects.get(pk=running.voucher_id).status == Voucher.Status.HELD
    history = _history()
    assert [voucher for voucher, _ in history] == sorted(coupons)

    tasks.release_expired_holds.enqueue()
    assert run_queued_tasks() == 1
    assert _history() == history
    assert {r.code for r in _audit() if r.breach_count} == set()


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_release_each_hold_once():
    coupons = _lapsed_holds(30)

    released = race(lambda _: tasks.release_expired_holds.call(), 2)

    assert sum(released) == 30
    assert [voucher for voucher, _ in _history()] == sorted(coupons)
    assert not Voucher.objects.filter(status=Voucher.Status.HELD).exists()


# --- The rush, when its reservation window closes ---------------------------------------


def _reserved_rush(slug: str):
    rush = rush_campaign(slug=slug)
    for person in customers(4, start=len(slug) * 100):
        rush_reserve(campaign=rush, customer=person, now=RESERVING)
    return rush


@pytest.mark.redis
@pytest.mark.django_db
def test_a_rush_is_loaded_once_its_reservations_close_and_only_once():
    rush = _reserved_rush("closing")
    ready = RushKeys(rush.pk, DAY).ready

    with time_machine.travel(at(DAY, "22:59:59"), tick=False):
        tasks.warm_closed_rushes.enqueue()
        run_queued_tasks()
    assert not get_redis().exists(ready)  # still reserving: nothing loaded
    assert not JobRun.objects.exists()

    with time_machine.travel(at(DAY, "23:00:00"), tick=False):
        result = tasks.warm_closed_rushes.enqueue()
        run_queued_tasks()
    assert tasks.warm_closed_rushes.get_result(result.id).return_value == 1
    assert get_redis().exists(ready)
    assert get_redis().hlen(RushKeys(rush.pk, DAY).reserved) == 4
    assert list(JobRun.objects.values_list("job", "key")) == [
        ("rush_warm", f"{rush.pk}:{DAY.isoformat()}")
    ]

    # Later the same day: done already; the state Redis has is left alone.
    get_redis().hset(RushKeys(rush.pk, DAY).reserved, "marker", "kept")
    with time_machine.travel(at(DAY, "23:00:30"), tick=False):
        result = tasks.warm_closed_rushes.enqueue()
        run_queued_tasks()
    assert tasks.warm_closed_rushes.get_result(result.id).return_value == 0
    assert get_redis().hget(RushKeys(rush.pk, DAY).reserved, "marker") == b"kept"
    assert JobRun.objects.count() == 1

    # After the rush: nothing to load until the next day's reservations close.
    with time_machine.travel(at(DAY, "23:01:00"), tick=False):
        assert tasks.warm_closed_rushes.call() == 0


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_running_the_rush_load_at_once_load_it_once():
    rush = _reserved_rush("racing")

    with time_machine.travel(at(DAY, "23:00:01"), tick=False):
        loaded = race(lambda _: tasks.warm_closed_rushes.call(), 2)

    assert sorted(loaded) == [0, 1]
    assert JobRun.objects.filter(job="rush_warm").count() == 1
    assert get_redis().exists(RushKeys(rush.pk, DAY).ready)


# --- The day's draw seeds ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_days_draw_seeds_are_made_ahead_through_the_worker_once():
    campaign = CampaignFactory(timezone="UTC")
    today = campaign.local_day()

    tasks.prepare_draw_seeds.enqueue()
    run_queued_tasks()
    made = dict(DrawSeed.objects.values_list("day", "seed_hash"))
    assert set(made) == {today, today + dt.timedelta(days=1)}

    # twice at once: the same two seeds, not new ones
    assert race(lambda _: tasks.prepare_draw_seeds.call(), 2) == [2, 2]
    assert dict(DrawSeed.objects.values_list("day", "seed_hash")) == made


# --- The nightly audit --------------------------------------------------------------


def _audit():
    from draws.invariants import audit_invariants

    return audit_invariants()


@pytest.mark.django_db
def test_the_nightly_audit_keeps_its_result_and_the_start_page_shows_it(admin_client):
    assert "Not run yet" in admin_client.get(reverse("admin:index")).text

    night = dt.datetime(2026, 5, 1, 3, 30, tzinfo=dt.UTC)  # TIME_ZONE is UTC
    with time_machine.travel(night, tick=False):
        result = tasks.audit_invariants_nightly.enqueue()
        assert run_queued_tasks() == 1
    run = AuditRun.objects.get()
    assert tasks.audit_invariants_nightly.get_result(result.id).return_value == {
        "night": "2026-05-01",
        "audit_run": run.pk,
        "clean": True,
        "breaches": 0,
    }
    assert (run.trigger, run.clean, run.breaches) == ("schedule", True, 0)
    assert run.started_at <= run.finished_at
    assert {rule["code"] for rule in run.report} >= {"HISTORY_MISSING"}
    page = admin_client.get(reverse("admin:index")).text
    assert "Clean</span> at" in page
    assert reverse("admin:draws_auditrun_change", args=[run.pk]) in page

    # A breach planted: the next run says so, and so does the start page.
    prize = CouponTypeFactory(probability=1)
    draw_run(campaign=prize.campaign, customer=CustomerFactory())
    CouponType.objects.filter(pk=prize.pk).update(issued_total=F("issued_total") + 2)
    # Enqueued twice the same night (two schedulers): audited once.
    with time_machine.travel(night + dt.timedelta(minutes=1), tick=False):
        again = tasks.audit_invariants_nightly.enqueue()
        run_queued_tasks()
    assert tasks.audit_invariants_nightly.get_result(again.id).return_value == {
        "night": "2026-05-01",
        "done_already": True,
    }
    assert AuditRun.objects.count() == 1
    with time_machine.travel(night + dt.timedelta(days=1), tick=False):
        tasks.audit_invariants_nightly.enqueue()
        run_queued_tasks()
    latest = AuditRun.objects.order_by("-started_at", "-id").first()
    assert (latest.clean, latest.breaches) == (False, 1)
    page = admin_client.get(reverse("admin:index")).text
    assert "1 breach</strong> at" in page
    assert reverse("admin:draws_auditrun_change", args=[latest.pk]) in page

    # The report, read-only, with the breach's rows.
    report = admin_client.get(
        reverse("admin:draws_auditrun_change", args=[latest.pk])
    ).text
    assert "QUOTA_COUNTER_MISMATCH" in report
    assert "Save" not in report
    assert (
        admin_client.get(reverse("admin:draws_auditrun_changelist")).status_code == 200
    )
