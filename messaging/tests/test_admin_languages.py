"""Messages in the back office follow the browser's language (issue 16): the
list's columns, statuses and action, a message's page, in Simplified Chinese.
Assumes compiled catalogues (``scripts/bootstrap`` compiles them)."""

import pytest
from django.urls import reverse

from messaging.models import Message

pytestmark = pytest.mark.django_db


def test_the_messages_in_simplified_chinese(admin_client):
    failed = Message.objects.create(
        channel=Message.Channel.SMS,
        recipient="+14155550123",
        body="Your code 123456",
        kind="sign_in_code",
        status=Message.Status.FAILED,
        last_error="provider down",
    )

    listed = admin_client.get(
        reverse("admin:messaging_message_changelist"),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    shown = admin_client.get(
        reverse("admin:messaging_message_change", args=[failed.pk]),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()

    assert "重新发送所选消息" in listed  # the action
    assert "短信" in listed  # the channel's label (the value stays "sms")
    assert "失败" in listed  # the status's label
    assert "收件人" in listed  # a column
    assert "最近错误" in shown
    assert "sign_in_code" in shown  # data stays as it is
    assert "Send the selected messages again" not in listed
