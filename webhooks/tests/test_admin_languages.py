# ruff: noqa: RUF001 (the expected texts' Chinese punctuation is meant)
"""The webhooks' back office follows the browser's language (issue 16): the
endpoint's form (its event types, the URL check), the delivery log, in
Traditional Chinese. Assumes compiled catalogues (``scripts/bootstrap``
compiles them)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from webhooks.events import EventType
from webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def test_the_endpoint_form_in_traditional_chinese(admin_client):
    page = admin_client.get(
        reverse("admin:webhooks_endpoint_add"), HTTP_ACCEPT_LANGUAGE="zh-hant"
    ).content.decode()

    assert "事件會以 POST 傳送到此處。" in page  # the URL's help text
    assert "draw.won：一位顧客在幸運抽獎中得獎" in page  # an event type's label
    assert "簽署密鑰" in page  # Signing secret
    assert 'value="draw.won"' in page  # the value stays


def test_a_refused_url_is_explained_in_traditional_chinese(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    page = admin_client.post(
        reverse("admin:webhooks_endpoint_add"),
        {"url": "http://127.0.0.1/hook", "events": [EventType.DRAW_WON]},
        HTTP_ACCEPT_LANGUAGE="zh-hant",
    ).content.decode()

    assert "127.0.0.1 解析為 127.0.0.1（回送位址）" in page
    assert "WEBHOOKS_ALLOW_PRIVATE_TARGETS" in page


def test_the_delivery_log_in_traditional_chinese(admin_client):
    endpoint = Endpoint.objects.create(url="https://example.com/hook", events=[])
    event = Event.objects.create(type=EventType.DRAW_WON, payload={})
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        retry_until=timezone.now(),
        status=Delivery.Status.FAILED,
    )

    listed = admin_client.get(
        reverse("admin:webhooks_delivery_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hant"
    ).content.decode()
    shown = admin_client.get(
        reverse("admin:webhooks_delivery_change", args=[delivery.pk]),
        HTTP_ACCEPT_LANGUAGE="zh-hant",
    ).content.decode()

    assert "重新傳送所選投遞" in listed  # the action
    assert "事件類型" in listed  # a column
    assert "失敗" in listed  # the status's label
    assert "重試截止時間" in shown
