# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""The campaigns' back office in Chinese (issue 16): the campaign pages, their
dashboard and actions, the start page and the audit log follow the browser's
language, in our own words as well as Django's.

Reads the compiled catalogues (``scripts/bootstrap`` compiles them).
"""

import re

import pytest
from django.db import transaction
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.audit import audit_record

pytestmark = pytest.mark.django_db


def _page(client, url, language="zh-hant", **post) -> str:
    if post:
        response = client.post(url, post, HTTP_ACCEPT_LANGUAGE=language)
    else:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _shown(html: str) -> str:
    """The page's text, tags and scripts left out."""
    html = re.sub(r"(?s)<script.*?</script>|<style.*?</style>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"(?s)<[^>]+>", " ", html))


@pytest.fixture
def campaign() -> Campaign:
    campaign = CampaignFactory(name="Spring draw")
    CouponTypeFactory(campaign=campaign, name="Gold", daily_quota=10)
    return campaign


def test_the_campaign_list_and_its_filters_and_actions(admin_client, campaign):
    shown = _shown(_page(admin_client, reverse("admin:campaigns_campaign_changelist")))

    assert "名稱" in shown and "代稱" in shown and "時區" in shown  # columns
    assert "幸運抽獎" in shown and "限時搶購" in shown  # the kinds' labels
    assert "啟用中" in shown and "已暫停" in shown  # the statuses' labels
    assert "暫停所選活動" in shown  # an action
    assert "Spring draw" in shown  # data stays as it is
    assert "Lucky draw" not in shown and "Pause selected campaigns" not in shown


def test_adding_a_campaign_asks_its_kind_then_shows_its_form(admin_client):
    add = reverse("admin:campaigns_campaign_add")

    choose = _shown(_page(admin_client, add))
    form = _shown(_page(admin_client, f"{add}?kind=rush"))

    assert "新增活動：選擇類型" in choose and "請先選擇類型" in choose
    assert "新增活動：限時搶購" in form
    assert "搶購時段（當地時間）" in form and "預約開始" in form  # fieldset, label
    assert "使用規則" in form and "最低訂單金額" in form  # the inline's
    assert "Rush windows" not in form and "Min order amount" not in form


def test_a_campaigns_page_and_its_dashboard(admin_client, campaign):
    shown = _shown(
        _page(
            admin_client, reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        )
    )

    assert "即時數據" in shown and "當地日期" in shown  # the dashboard
    assert "今天發出／每日配額" in shown and "不設上限" in shown
    assert "趨勢" in shown  # the "Over time" button
    assert "留空表示不設上限。" in shown  # a help text
    assert "Coupons by type" not in shown and "Over time" not in shown


def test_an_action_asks_why_then_says_what_it_did(admin_client, campaign):
    changelist = reverse("admin:campaigns_campaign_changelist")
    chosen = {"action": "campaign_pause", "_selected_action": [campaign.pk]}

    asking = _shown(_page(admin_client, changelist, **chosen))
    response = admin_client.post(
        changelist,
        {**chosen, "apply": "1", "reason": "stock ran out"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        follow=True,
    )

    assert "原因" in asking and "連同操作者記錄在稽核記錄中。" in asking
    assert "取消" in asking
    assert "已暂停：1；被拒绝：0。" in _shown(response.content.decode())


def test_the_start_page_and_the_audit_log(admin_client, admin_user, campaign):
    with transaction.atomic():
        audit_record(acting_user=None, action="campaign.created", target=campaign)

    start = _shown(_page(admin_client, reverse("admin:index")))
    log = _shown(
        _page(
            admin_client, reverse("admin:couponsite_auditentry_changelist"), "zh-hans"
        )
    )

    assert "任務佇列" in start and "個就緒" in start
    assert "平台" in start and "稽核記錄" in start  # the app's and model's names
    assert "操作者" in log and "（无用户：命令）" in log
    assert "campaign.created" in log  # the action's code stays as it is
    assert "acting user" not in log
