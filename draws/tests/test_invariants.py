"""The invariant audit: a scene made by the services is clean; each breach
planted in the rows behind the services' back is found, with its rows, and the
command fails."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import CouponType
from campaigns.tests.factories import CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take, holds_release_expired
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.draw.services import draw_run
from draws.invariants import AuditRun, audit_invariants
from draws.models import Claim, Draw, RushDay
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, RUSHING, customers, rush_campaign
from vouchers.models import Voucher, VoucherEvent
from vouchers.services import voucher_redeem, voucher_void

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rush_state():
    rush_local_state_clear()
    yield
    rush_local_state_clear()


@pytest.fixture
def scene():
    """Every mode's rows, made only by the services: draws won (one coupon
    redeemed, one voided), a hold that lapsed and was claimed again then
    redeemed, a rush day with reservations and a grab."""
    now = timezone.now()
    prize = CouponTypeFactory(probability=1, total_quota=5, daily_quota=3)
    drawers = [CustomerFactory() for _ in range(3)]
    wins = [
        draw_run(campaign=prize.campaign, customer=person, now=now)
        for person in drawers
    ]
    voucher_redeem(code=wins[0].voucher.code, customer=drawers[0], now=now)
    voucher_void(voucher=wins[1].voucher, acting_user=None, reason="Fraud")

    drop = claim_campaign(slug="audit-drop", hold_seconds=60, released=1)
    first, second = make_customers(2)
    lapsed = claim_take(campaign=drop, customer=first, now=now)
    again = claim_take(
        campaign=drop, customer=second, now=now + dt.timedelta(seconds=90)
    )
    assert again.voucher_id == lapsed.voucher_id
    voucher_redeem(
        code=again.voucher.code, customer=second, now=now + dt.timedelta(seconds=95)
    )

    rush = rush_campaign(slug="audit-rush")
    people = customers(6)
    for person in people:
        rush_reserve(campaign=rush, customer=person, now=RESERVING)
    rush_grab(campaign=rush, customer=people[0], now=RUSHING)
    return {"prize": prize, "wins": wins, "claims": (lapsed, again), "rush": rush}


def _breaches(code: str) -> list[dict]:
    [result] = [r for r in audit_invariants() if r.code == code]
    assert result.breach_count == len(result.breaches)
    return [breach.rows for breach in result.breaches]


def _failing_codes() -> set[str]:
    return {r.code for r in audit_invariants() if r.breach_count}


def _command_fails(code: str) -> str:
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("audit_invariants", stdout=out)
    assert failed.value.returncode == 1
    assert f"{code}: " in out.getvalue()
    return out.getvalue()


def test_a_scene_made_by_the_services_breaks_no_rule(scene):
    results = audit_invariants()

    assert {r.code: r.breach_count for r in results if r.breach_count} == {}
    checked = {r.code: r.checked for r in results}
    assert (
        checked["ONCE_A_DAY_BROKEN"] == 3 + 2 + 6 + 1
    )  # draws, claims, reservations, grab
    # redeemed, void, claims, the lapsed hold claimed again
    assert checked["HISTORY_MISSING"] == 2 + 1 + 2 + 1
    assert checked["RUSH_DAY_MISCOUNTED"] == 1
    out = StringIO()
    call_command("audit_invariants", stdout=out)
    assert "Every invariant holds." in out.getvalue()
    assert "breaches 0" in out.getvalue()


def test_json_report_names_every_rule_and_its_breaches(scene):
    CouponType.objects.filter(pk=scene["prize"].pk).update(
        issued_total=F("issued_total") - 1
    )
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("audit_invariants", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["ok"] is False and report["breaches"] == 1
    by_code = {rule["code"]: rule for rule in report["rules"]}
    assert len(by_code) == 9
    [breach] = by_code["QUOTA_COUNTER_MISMATCH"]["breaches"]
    assert breach["rows"]["coupon_type"] == scene["prize"].pk
    assert (breach["rows"]["issued_total"], breach["rows"]["wins"]) == (2, 3)


def test_more_issued_than_the_total_quota(scene):
    prize = scene["prize"]
    template = scene["wins"][2].voucher
    for n in range(3):  # 3 wins + 3 planted coupons > total quota 5
        Voucher.objects.create(
            code=f"PLANTED{n}",
            campaign=prize.campaign,
            coupon_type=prize,
            owner=template.owner,
            issued_at=timezone.now(),
            **prize.benefit_fields(),
        )

    assert _failing_codes() == {"QUOTA_TOTAL_EXCEEDED"}
    assert _breaches("QUOTA_TOTAL_EXCEEDED") == [
        {
            "coupon_type": prize.pk,
            "campaign": prize.campaign_id,
            "total_quota": 5,
            "issued": 6,
        }
    ]
    _command_fails("QUOTA_TOTAL_EXCEEDED")


def test_more_wins_in_a_day_than_the_daily_quota(scene):
    prize = scene["prize"]
    day = scene["wins"][0].day
    # The counter rolled to another day, so the check constraint lets the
    # quota drop below the day's three wins.
    CouponType.objects.filter(pk=prize.pk).update(
        issued_today=0, quota_day=day - dt.timedelta(days=1), daily_quota=2
    )

    assert _failing_codes() == {"QUOTA_DAILY_EXCEEDED"}
    assert _breaches("QUOTA_DAILY_EXCEEDED") == [
        {
            "coupon_type": prize.pk,
            "campaign": prize.campaign_id,
            "day": day.isoformat(),
            "daily_quota": 2,
            "issued": 3,
        }
    ]
    _command_fails("QUOTA_DAILY_EXCEEDED")


def test_a_second_draw_the_same_day(scene):
    if connection.vendor != "postgresql":
        pytest.skip("drops the constraint with Postgres's transactional DDL")
    first = scene["wins"][2]
    with connection.cursor() as cursor:  # undone with the test's transaction
        # The deferred foreign keys' checks first: no ALTER while they pend.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"ALTER TABLE {Draw._meta.db_table} DROP CONSTRAINT draw_once_per_day"
        )
    again = Draw.objects.create(
        customer_id=first.customer_id,
        campaign_id=first.campaign_id,
        day=first.day,
        roll=0.99,
    )

    assert _failing_codes() == {"ONCE_A_DAY_BROKEN"}
    assert _breaches("ONCE_A_DAY_BROKEN") == [
        {
            "model": "draw",
            "customer": first.customer_id,
            "campaign": first.campaign_id,
            "day": first.day.isoformat(),
            "count": 2,
            "ids": [first.pk, again.pk],
        }
    ]
    _command_fails("ONCE_A_DAY_BROKEN")


def test_two_holders_at_once(scene):
    _, again = scene["claims"]
    intruder = CustomerFactory()
    overlapping = Claim.objects.create(
        customer=intruder,
        campaign_id=again.campaign_id,
        day=again.day,
        voucher_id=again.voucher_id,
        created_at=again.created_at + dt.timedelta(seconds=1),
        held_until=again.held_until,
    )

    # Made behind the services' back, the claim has no history either.
    assert _failing_codes() == {"HOLDS_OVERLAP", "HISTORY_MISSING"}
    assert _breaches("HOLDS_OVERLAP") == [
        {
            "claims": [again.pk, overlapping.pk],
            "voucher": again.voucher_id,
            "campaign": again.campaign_id,
            "customer": intruder.pk,
        }
    ]
    _command_fails("HOLDS_OVERLAP")


def test_a_hold_no_claim_granted(scene):
    drop = claim_campaign(slug="audit-drop-2", released=1)
    held = claim_take(campaign=drop, customer=CustomerFactory()).voucher
    Voucher.objects.filter(pk=held.pk).update(
        held_until=F("held_until") + dt.timedelta(hours=1)
    )

    assert _failing_codes() == {"HELD_WITHOUT_ITS_CLAIM"}
    [breach] = _breaches("HELD_WITHOUT_ITS_CLAIM")
    assert (breach["voucher"], breach["owner"]) == (held.pk, held.owner_id)
    _command_fails("HELD_WITHOUT_ITS_CLAIM")


def test_a_rush_day_counting_reservations_it_has_not(scene):
    # The check constraint keeps coupons = floor(reservations x ratio), so both move.
    RushDay.objects.filter(campaign=scene["rush"]).update(
        reservations=F("reservations") + 5,
        coupons=(F("reservations") + 5) * F("coupons_per_10000") / 10000,
    )
    day = RushDay.objects.get(campaign=scene["rush"])

    assert _failing_codes() == {"RUSH_DAY_MISCOUNTED"}
    [breach] = _breaches("RUSH_DAY_MISCOUNTED")
    assert breach["rush_day"] == day.pk
    assert (breach["reservations"], breach["reserved"]) == (11, 6)
    assert (breach["coupons"], breach["made"], breach["grabbed"]) == (2, 1, 1)
    assert "reservations 11 != 6 rows" in _command_fails("RUSH_DAY_MISCOUNTED")


def test_a_quota_counter_that_lost_a_win(scene):
    prize = scene["prize"]
    CouponType.objects.filter(pk=prize.pk).update(issued_total=F("issued_total") - 1)

    assert _failing_codes() == {"QUOTA_COUNTER_MISMATCH"}
    [breach] = _breaches("QUOTA_COUNTER_MISMATCH")
    assert breach["coupon_type"] == prize.pk
    assert (breach["issued_total"], breach["wins"]) == (2, 3)
    assert (breach["issued_today"], breach["wins_on_day"]) == (3, 3)
    _command_fails("QUOTA_COUNTER_MISMATCH")


def test_changes_without_their_history(scene):
    redeemed, voided = scene["wins"][0].voucher, scene["wins"][1].voucher
    lapsed, _ = scene["claims"]
    VoucherEvent.objects.filter(
        voucher__in=[redeemed, voided], kind__in=["redeemed", "voided"]
    ).delete()
    VoucherEvent.objects.filter(
        voucher_id=lapsed.voucher_id, customer=lapsed.customer, kind="claimed"
    ).delete()

    assert _failing_codes() == {"HISTORY_MISSING"}
    assert _breaches("HISTORY_MISSING") == [
        {"what": "redeemed", "voucher": redeemed.pk, "campaign": redeemed.campaign_id},
        {"what": "void", "voucher": voided.pk, "campaign": voided.campaign_id},
        {"what": "claim", "claim": lapsed.pk, "campaign": lapsed.campaign_id},
    ]
    _command_fails("HISTORY_MISSING")


def test_lapsed_holds_without_their_expiry(scene):
    lapsed, again = scene["claims"]
    # A second hold that runs out and is put back in the pool by the sweeper.
    drop = claim_campaign(slug="audit-drop-3", hold_seconds=60, released=1)
    swept = claim_take(
        campaign=drop,
        customer=CustomerFactory(),
        now=timezone.now() - dt.timedelta(minutes=5),
    )
    assert holds_release_expired() == 1
    assert {r.code for r in audit_invariants() if r.breach_count} == set()
    expired = VoucherEvent.objects.filter(kind="expired")
    assert sorted(expired.values_list("voucher_id", "customer_id")) == sorted(
        [
            (lapsed.voucher_id, lapsed.customer_id),
            (swept.voucher_id, swept.customer_id),
        ]
    )

    expired.delete()

    assert _failing_codes() == {"HISTORY_MISSING"}
    assert _breaches("HISTORY_MISSING") == [
        {"what": "hold lapsed", "claim": lapsed.pk, "campaign": lapsed.campaign_id},
        {"what": "hold lapsed", "claim": swept.pk, "campaign": swept.campaign_id},
    ]
    assert "has no 'Hold expired' event" in _command_fails("HISTORY_MISSING")
    # The claim still holding its coupon (``again``, redeemed) is owed nothing.
    assert again.pk not in {b["claim"] for b in _breaches("HISTORY_MISSING")}


def test_an_expiry_recorded_for_another_hold_does_not_count(scene):
    lapsed, _ = scene["claims"]
    # The event moved before the lapsed hold's end: it is not that hold's.
    VoucherEvent.objects.filter(kind="expired").update(
        created_at=lapsed.held_until - dt.timedelta(seconds=1)
    )

    assert _breaches("HISTORY_MISSING") == [
        {"what": "hold lapsed", "claim": lapsed.pk, "campaign": lapsed.campaign_id}
    ]


def test_the_command_keeps_its_run_for_the_back_office_unless_told_not_to(scene):
    call_command("audit_invariants", "--no-record", stdout=StringIO())
    assert not AuditRun.objects.exists()

    call_command("audit_invariants", stdout=StringIO())
    run = AuditRun.objects.get()
    assert (run.trigger, run.clean, run.breaches) == ("command", True, 0)
    assert len(run.report) == len(audit_invariants())

    CouponType.objects.filter(pk=scene["prize"].pk).update(issued_total=0)
    with pytest.raises(CommandError):
        call_command("audit_invariants", stdout=StringIO())
    latest = AuditRun.objects.order_by("-started_at", "-id").first()
    assert (latest.clean, latest.breaches) == (False, 1)
    [rule] = [r for r in latest.report if r["breach_count"]]
    assert rule["code"] == "QUOTA_COUNTER_MISMATCH"
    assert rule["breaches"][0]["rows"]["coupon_type"] == scene["prize"].pk


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_audit_reads_one_read_only_snapshot():
    prize = CouponTypeFactory(probability=1, total_quota=1)
    draw_run(campaign=prize.campaign, customer=CustomerFactory())
    CouponType.objects.filter(pk=prize.pk).update(issued_total=0)

    with CaptureQueriesContext(connection) as queries:
        assert _failing_codes() == {"QUOTA_COUNTER_MISMATCH"}

    assert [q["sql"] for q in queries[:2]] == [
        "BEGIN",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    ]
