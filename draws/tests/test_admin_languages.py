# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""The draws' back office in Chinese (issue 16): the draws, claims, releases,
schedules, rush days, grabs and audit runs, the dashboards, "Over time" and
"Simulate" read in the browser's language. Needs the compiled catalogues
(``scripts/bootstrap`` compiles them)."""

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from draws.audit_runs import AuditRun
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.invariants import audit_invariants_record
from draws.tests.factories import DrawFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def read(client, url: str, language: str = "zh-hant") -> str:
    page = client.get(url, headers={"accept-language": language})
    assert page.status_code == 200, (url, page.status_code)
    return page.content.decode()


@pytest.fixture
def draw_campaign():
    """A running draw with one coupon type that always wins."""
    now = dt.datetime.now(dt.UTC)
    campaign = CampaignFactory(
        status=Campaign.Status.ACTIVE,
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
    )
    CouponTypeFactory(
        campaign=campaign,
        name="Five off",
        probability=Decimal(1),
        amount=Decimal(5),
        currency="EUR",
        daily_quota=30,
    )
    return campaign


def test_a_draw_reads_in_traditional_chinese(admin_client, draw_campaign):
    draw = DrawFactory(campaign=draw_campaign)

    listing = read(admin_client, reverse("admin:draws_draw_changelist"))
    detail = read(admin_client, reverse("admin:draws_draw_change", args=[draw.pk]))
    story = read(
        admin_client,
        reverse("admin:customers_customer_change", args=[draw.customer_id]),
    )

    assert "抽獎" in listing and "中獎" in listing
    assert "來自種子" in detail and "抽出的 [0, 1) 均勻隨機數。" in detail
    assert "抽獎時間" in story


def test_claims_releases_and_schedules_read_in_traditional_chinese(admin_client):
    campaign = claim_campaign(released=2)
    claim_take(campaign=campaign, customer=make_customers(1)[0])

    claims = read(admin_client, reverse("admin:draws_claim_changelist"))
    release = read(admin_client, reverse("admin:draws_release_add"))
    schedule = read(admin_client, reverse("admin:draws_releaseschedule_add"))
    dashboard = read(
        admin_client, reverse("admin:campaigns_campaign_dashboard", args=[campaign.pk])
    )

    assert "保留中" in claims  # the hold still runs
    assert "領取活動的優惠券類型。" in release
    assert "當地時間" in schedule and "取消勾選即可停止釋出而不必刪除。" in schedule
    assert "派發池中可用" in dashboard and "釋出排程（當地時間）" in dashboard


def test_the_rush_pages_read_in_simplified_chinese(admin_client):
    assert "抢购日" in read(
        admin_client, reverse("admin:draws_rushday_changelist"), "zh-hans"
    )
    assert "抢券" in read(
        admin_client, reverse("admin:draws_grab_changelist"), "zh-hans"
    )


def test_an_audit_run_shows_its_rules_translated(admin_client):
    run, _ = audit_invariants_record(trigger=AuditRun.Trigger.COMMAND)

    listing = read(admin_client, reverse("admin:draws_auditrun_changelist"))
    detail = read(admin_client, reverse("admin:draws_auditrun_change", args=[run.pk]))

    assert "無違規" in listing and "指令" in listing
    assert "分片類型的各分片及其份額加起來等於該類型" in detail
    assert "沒有違規。" in detail
    # The report itself stays in English (logs, the command, old runs).
    assert "a sharded type's shards" in str(AuditRun.objects.get().report)


def test_a_draw_campaigns_dashboard_over_time_and_simulation(
    admin_client, draw_campaign
):
    pk = draw_campaign.pk

    dashboard = read(
        admin_client, reverse("admin:campaigns_campaign_dashboard", args=[pk])
    )
    over_time = read(admin_client, reverse("campaign-over-time", args=[pk]))
    simulate = read(
        admin_client,
        reverse("campaign-simulate", args=[pk])
        + "?participants_per_day=50&redemption_rate=1&runs=20",
    )

    assert "今天的抽獎" in dashboard and "抽獎種子" in dashboard
    assert "今天，每小時" in over_time and "抽獎與中獎" in over_time
    assert re.search(r"由 \d{4}年\d{1,2}月\d{1,2}日 00:00:00 至", over_time)
    assert "每日參加人數" in simulate and "預期成本" in simulate
    assert "結果：模擬 20 次" in simulate


def test_english_stays_the_default(admin_client, draw_campaign):
    over_time = read(
        admin_client, reverse("campaign-over-time", args=[draw_campaign.pk]), "en"
    )

    assert "Today, per hour" in over_time and "Draws and wins" in over_time
    assert re.search(r"From \w{3} \d{2} \w{3} \d{4} 00:00:00 to", over_time)
