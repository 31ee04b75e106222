# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""The vouchers' back office in Chinese: an employee whose browser asks for it
reads our own labels (models, columns, fieldsets, buttons, figures, the
timeline, the generate page) translated. Needs the compiled catalogues
(scripts/bootstrap compiles them)."""

import pytest
from django.urls import reverse

from vouchers.services import voucher_redeem, voucher_void
from vouchers.tests.factories import OfferFactory, VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _get(client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def voided(admin_user):
    voucher = VoucherFactory()
    voucher_redeem(code=voucher.code, customer=voucher.owner, order_ref="O-77")
    voucher.refresh_from_db()
    voucher_void(voucher=voucher, acting_user=admin_user, reason="stolen card")
    return voucher


def test_the_offers_list_and_page_in_traditional_chinese(admin_client):
    offer = OfferFactory()

    listed = _get(admin_client, reverse("admin:vouchers_offer_changelist"), "zh-hant")
    page = _get(
        admin_client, reverse("admin:vouchers_offer_change", args=[offer.pk]), "zh-hant"
    )

    assert "從 CSV 產生優惠券" in listed  # the object-tools button
    assert "優惠券池（所有優惠方案）" in listed  # the pool's figures
    assert "已發出的優惠券" in listed and "未使用（可使用）" in listed  # columns
    assert "優惠碼前綴" in page and "這個優惠方案的優惠券" in page
    assert "使用規則" in page  # a fieldset


def test_a_vouchers_page_and_timeline_in_traditional_chinese(admin_client, voided):
    html = _get(
        admin_client,
        reverse("admin:vouchers_voucher_change", args=[voided.pk]),
        "zh-hant",
    )

    for label in ("來源", "持有人", "歷史紀錄", "顧客目前看到的狀態", "經手職員"):
        assert label in html
    timeline = html[html.index('class="voucher-timeline"') :]
    assert "已作廢" in timeline and "由職員" in timeline
    assert "原因：「stolen card」" in timeline


def test_the_vouchers_list_and_history_in_traditional_chinese(admin_client, voided):
    vouchers = _get(
        admin_client, reverse("admin:vouchers_voucher_changelist"), "zh-hant"
    )
    events = _get(
        admin_client, reverse("admin:vouchers_voucherevent_changelist"), "zh-hant"
    )

    assert "優惠方案／優惠券類型" in vouchers  # a column
    assert "作廢所選的優惠券" in vouchers  # an action
    assert "已撤銷使用" in events or "已作廢" in events  # the kinds' labels
    assert "優惠券事件" in events


def test_the_generate_page_in_both_chineses(admin_client):
    url = reverse("admin:vouchers_offer_generate")

    traditional = _get(admin_client, url, "zh-hant")
    simplified = _get(admin_client, url, "zh-hans")

    assert "從電郵地址 CSV 產生優惠券" in traditional
    assert "電郵的語言" in traditional and "略過有問題的行" in traditional
    assert "从邮箱地址 CSV 生成优惠券" in simplified
    assert "邮件的语言" in simplified and "跳过有问题的行" in simplified


def test_english_stays_the_default(admin_client, voided):
    html = _get(
        admin_client, reverse("admin:vouchers_voucher_change", args=[voided.pk]), ""
    )

    assert "Where it comes from" in html and "by staff <em>" in html
