# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""Languages (issue 16): English, Traditional and Simplified Chinese.

The API's ``detail`` texts follow ``Accept-Language`` or the customer's saved
language, codes unchanged; texts and emails go out in the customer's language;
the back office follows the browser; every customer-facing string is in the
catalogues, translated.
"""

import datetime as dt
import inspect
import os
import re
import shutil
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite import catalogues
from couponsite.api.exceptions import exception_handler
from couponsite.languages import format_datetime, format_money, request_language
from couponsite.tests.test_domain_errors import _product_errors
from customers.tests.factories import CustomerFactory
from messaging.tests.support import mail_sent, sms_sent
from vouchers.emails import voucher_emails
from vouchers.tests.factories import VoucherFactory

CHINESE = ("zh-hant", "zh-hans")


def _errors():
    return sorted(_product_errors(), key=lambda cls: (cls.code, cls.__qualname__))


def _raised(error):
    """An instance as the product raises it (the sign-in text limits name their
    hour and prefix)."""
    if "hour" in inspect.signature(error).parameters:
        now = dt.datetime.now(dt.UTC)
        return error(hour=now, prefix="+1415555", now=now)
    return error()


# --- Every domain error speaks both languages ---------------------------------------


def test_every_domain_errors_detail_is_marked_for_translation():
    unmarked = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _errors()
        if not isinstance(cls.detail, Promise)
    )

    assert unmarked == []


@pytest.mark.parametrize("language", CHINESE)
@pytest.mark.parametrize("error", _errors(), ids=lambda cls: cls.__qualname__)
def test_every_domain_error_answers_in_the_language_with_its_code(error, language):
    with translation.override("en"):
        english = exception_handler(_raised(error), {}).data

    with translation.override(language):
        answer = exception_handler(_raised(error), {})
        catalogue = translation.gettext(english["detail"])

    assert answer.data["code"] == english["code"] == error.code
    assert answer.data["detail"] != english["detail"]
    assert re.search(r"[\u4e00-\u9fff]", answer.data["detail"])
    if catalogue != english["detail"]:  # not a template filled in (Idempotency-Key's)
        assert answer.data["detail"] == catalogue


# --- The request's language, or the customer's ----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "language", "detail"),
    [
        ("zh-Hant", "zh-hant", "找不到這個活動。"),
        ("zh-TW", "zh-hant", "找不到這個活動。"),
        ("zh-HK,en;q=0.5", "zh-hant", "找不到這個活動。"),
        ("zh-CN", "zh-hans", "找不到这个活动。"),
        ("zh-SG", "zh-hans", "找不到这个活动。"),
        ("zh-Hans", "zh-hans", "找不到这个活动。"),
        ("en-US,zh-TW;q=0.8", "en", "No such campaign."),
        ("fr", "en", "No such campaign."),
    ],
)
def test_the_api_answers_in_the_accept_language(
    customer_client, accept, language, detail
):
    response = customer_client.get(
        "/api/v1/campaigns/no-such", HTTP_ACCEPT_LANGUAGE=accept
    )

    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "detail": detail}
    assert response["Content-Language"] == language


@pytest.mark.django_db
def test_validation_errors_keep_their_code_and_speak_the_language(customer_client):
    response = customer_client.post(
        "/api/v1/auth/token",
        {"phone": "+14155550123", "code": "12"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-TW",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["detail"] == "請求中有無效的欄位。"
    assert body["fields"]["code"] == ["請輸入 6 位數字的驗證碼。"]


@pytest.mark.django_db(transaction=True)
def test_a_saved_language_wins_over_accept_language(customer_client):
    # when: the customer saves Simplified Chinese
    response = customer_client.patch(
        "/api/v1/me", {"language": "zh-hans"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["language"] == "zh-hans"

    # then: no header, or another language's, is answered in theirs
    for headers in (
        {},
        {"HTTP_ACCEPT_LANGUAGE": "en"},
        {"HTTP_ACCEPT_LANGUAGE": "zh-TW"},
    ):
        answer = customer_client.get("/api/v1/campaigns/no-such", **headers)
        assert answer.json() == {"code": "NOT_FOUND", "detail": "找不到这个活动。"}
        assert answer["Content-Language"] == "zh-hans"

    # and: an empty language follows each request again
    customer_client.patch("/api/v1/me", {"language": ""}, format="json")
    answer = customer_client.get("/api/v1/campaigns/no-such")
    assert answer.json()["detail"] == "No such campaign."


@pytest.mark.django_db
def test_an_unknown_language_is_refused(customer_client):
    response = customer_client.patch("/api/v1/me", {"language": "fr"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert list(response.json()["fields"]) == ["language"]


# --- Texts and emails ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sign_in_code_is_texted_in_the_requests_language(api_client):
    response = api_client.post(
        "/api/v1/auth/otp",
        {"phone": "+14155550123"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-Hant",
    )

    assert response.status_code == 202
    [text] = sms_sent()
    assert re.fullmatch(
        r"你的 Couponsite 驗證碼是 \d{6}，將於 5 分鐘後失效。", text.body
    )


@pytest.mark.django_db(transaction=True)
def test_a_known_customers_sign_in_code_is_in_their_saved_language(api_client):
    CustomerFactory(phone="+14155550123", language="zh-hans")

    api_client.post("/api/v1/auth/otp", {"phone": "+14155550123"}, format="json")

    [text] = sms_sent()
    assert text.body.startswith("你的 Couponsite 验证码是 ")


@pytest.mark.django_db(transaction=True)
def test_the_win_notice_is_in_the_customers_language(customer_client):
    customer_client.customer.language = "zh-hant"
    customer_client.customer.save()
    campaign = CampaignFactory(name="春節抽獎", timezone="Asia/Taipei")
    coupon_type = CouponTypeFactory(
        campaign=campaign,
        name="咖啡券",
        probability=1,
        benefit_kind="amount",
        amount=Decimal("50"),
        currency="TWD",
    )

    response = customer_client.post(f"/api/v1/campaigns/{campaign.slug}/draws")

    assert response.status_code == 201
    code = response.json()["voucher"]["code"]
    [text] = sms_sent()
    assert text.body.startswith(
        f"你在春節抽獎抽中了咖啡券（減 NT$50.00）！優惠碼 {code}，有效期至 "
    )
    expires = coupon_type.expiry_from(dt.datetime.now(dt.UTC))
    assert f"{expires.astimezone(campaign.tz).year}年" in text.body


@pytest.mark.django_db(transaction=True)
def test_the_win_notice_follows_the_request_when_nothing_is_saved(customer_client):
    coupon_type = CouponTypeFactory(probability=1)

    customer_client.post(
        f"/api/v1/campaigns/{coupon_type.campaign.slug}/draws",
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )

    [text] = sms_sent()
    assert text.body.startswith("你在")
    assert "优惠码" in text.body


@pytest.mark.django_db(transaction=True)
def test_the_email_code_is_mailed_in_the_customers_language(customer_client):
    response = customer_client.patch(
        "/api/v1/me",
        {"email": "ann@example.com"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-TW",
    )

    assert response.status_code == 202
    [email] = mail_sent()
    assert email.subject == "你的 Couponsite 驗證碼"
    assert email.body.startswith("你的 Couponsite 驗證碼是 ")


@pytest.mark.django_db
def test_a_voucher_email_is_in_its_owners_saved_language():
    owner = CustomerFactory(language="zh-hant")
    voucher = VoucherFactory(
        owner=owner,
        email="ann@example.com",
        percent=Decimal("15"),
        expires_at=dt.datetime(2099, 1, 31, 22, 59, tzinfo=dt.UTC),
    )
    stranger = VoucherFactory(
        owner=None, email="bob@example.com", percent=Decimal("15")
    )

    ours, theirs = voucher_emails([voucher, stranger], offer_name="冬季特賣")

    assert ours.subject == "Couponsite 送你的 15% 優惠券"
    assert "冬季特賣" in ours.text and "你的優惠碼：" in ours.text
    assert "2099年1月31日 下午10:59 UTC" in ours.text
    assert '<html lang="zh-hant">' in ours.html
    assert theirs.subject == "Your 15% voucher from Couponsite"


# --- Amounts and times ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "language", "text"),
    [
        ("HKD", "en", "HK$1,234.50"),
        ("TWD", "zh-hant", "NT$1,234.50"),
        ("USD", "zh-hans", "US$1,234.50"),
        ("USD", "en", "US$1,234.50"),
        ("EUR", "en", "1,234.50 EUR"),
    ],
)
def test_amounts_carry_their_currency(currency, language, text):
    assert format_money(Decimal("1234.5"), currency, language) == text


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "May 1, 2026, 9:00 PM"),
        ("zh-hant", "2026年5月1日 下午9:00"),
        ("zh-hans", "2026年5月1日 21:00"),
    ],
)
def test_times_are_in_the_campaigns_zone_for_the_language(language, text):
    moment = dt.datetime(2026, 5, 1, 13, 0, tzinfo=dt.UTC)

    assert format_datetime(moment, zoneinfo.ZoneInfo("Asia/Taipei"), language) == text


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("", "en"),
        ("en", "en"),
        ("en-GB,zh;q=0.1", "en"),
        ("fr", "en"),  # unsupported: Django answers in LANGUAGE_CODE
        ("*", "en"),
        ("zh-TW", "zh-hant"),
        ("zh-HK,en;q=0.5", "zh-hant"),
        ("zh-CN", "zh-hans"),
        ("fr,zh-CN;q=0.5", "zh-hans"),
        ("zh-Hans-SG", "zh-hans"),
    ],
)
@pytest.mark.django_db
def test_the_request_language_is_the_one_django_answers_in(client, accept, language):
    # the thin path's choice (couponsite.server.thin) ...
    chosen = request_language(accept)
    # ... and LocaleMiddleware's, on a request Django answers
    answer = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE=accept)

    assert chosen == language
    assert answer["Content-Language"] == language


# --- The back office ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_back_office_follows_the_browsers_language(admin_client):
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-TW")

    assert page.status_code == 200
    assert page["Content-Language"] == "zh-hant"
    html = page.content.decode()
    assert "登出" in html  # Django's own, "Log out"
    assert "首頁：目前進行中" in html and "目前進行中的活動" in html  # ours
    assert "Log out" not in html and "Campaigns running now" not in html

    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert page["Content-Language"] == "zh-hans"
    assert "注销" in page.content.decode()


# --- The catalogues -------------------------------------------------------------------


def test_the_catalogues_translate_every_marked_string():
    """makemessages over the project's code, in a copy: nothing untranslated or
    fuzzy for zh-hant and zh-hans (``make messages`` fixes the real ones)."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        if os.environ.get("COUPONSITE_REQUIRE_SERVICES") == "1":
            pytest.fail("GNU gettext (xgettext, msgmerge) is needed for this check")
        pytest.skip("GNU gettext is not installed")

    assert catalogues.check_copy() == {"zh_Hant": [], "zh_Hans": []}
