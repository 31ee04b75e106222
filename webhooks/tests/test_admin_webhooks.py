"""The webhooks' back office: endpoints (secret shown once, rolled with a reason),
the URL check, the delivery log and "send again"."""

import pytest
from django.test import Client
from django.urls import reverse

from couponsite.models import AuditEntry
from couponsite.roles import CAMPAIGN_MANAGER, SUPPORT
from couponsite.tests.roles_support import staff_in
from vouchers.services import voucher_void
from vouchers.tests.factories import VoucherFactory
from webhooks.events import EventType
from webhooks.models import Delivery, Endpoint
from webhooks.receiver_example import verify
from webhooks.subscriptions import subscribed
from webhooks.tests.support import deliver_all, endpoint_for

pytestmark = pytest.mark.django_db

ADD = reverse("admin:webhooks_endpoint_add")
DELIVERIES = reverse("admin:webhooks_delivery_changelist")


def _manager() -> Client:
    client = Client()
    client.force_login(staff_in(CAMPAIGN_MANAGER))
    return client


def test_an_endpoint_made_in_the_admin_shows_its_secret_once(
    served, django_capture_on_commit_callbacks
):
    client = _manager()
    assert subscribed(EventType.DRAW_WON) is False  # read now, held a while

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD,
            {
                "url": served.url,
                "description": "CRM",
                "events": [EventType.DRAW_WON, EventType.VOUCHER_ISSUED],
                "active": "on",
            },
        )

    endpoint = Endpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.events == [EventType.DRAW_WON, EventType.VOUCHER_ISSUED]
    change = client.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in change.content.decode()
    assert 'type="checkbox" name="events"' in change.content.decode()
    entry = AuditEntry.objects.get(action="webhook_endpoint.created")
    assert entry.acting_user.username == "campaign-manager"
    assert "secret" not in entry.changes
    # this process hears of the new subscription as the save commits
    assert subscribed(EventType.DRAW_WON) is True


def test_a_loopback_url_is_refused_by_the_form_without_the_setting(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    client = _manager()

    response = client.post(
        ADD,
        {"url": "http://127.0.0.1:8080/hooks", "events": [EventType.DRAW_WON]},
    )

    assert response.status_code == 200
    assert not Endpoint.objects.exists()
    text = response.content.decode()
    assert "127.0.0.1 is a loopback address" in text
    assert "WEBHOOKS_ALLOW_PRIVATE_TARGETS" in text


def test_rolling_the_secret_asks_why_shows_the_new_one_and_signs_with_it(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    old = endpoint.secret
    client = _manager()
    roll = reverse("admin:webhooks_endpoint_roll_secret", args=[endpoint.pk])

    assert "reason" in client.get(roll).content.decode()
    response = client.post(roll, {"reason": "leaked in a log"})

    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    entry = AuditEntry.objects.get(action="webhook_endpoint.secret_rolled")
    assert entry.reason == "leaked in a log" and old not in str(entry.changes)
    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")
    assert len(deliver_all(served, endpoint)) == 1  # verified with the new secret
    (request,) = served.received()
    assert not verify(
        secret=old, header=request.headers["Couponsite-Signature"], body=request.body
    )


def test_send_again_from_the_delivery_log_asks_why_and_sends_the_same_event(served):
    endpoint = endpoint_for(served, EventType.VOUCHER_VOIDED)
    voucher_void(voucher=VoucherFactory(), acting_user=None, reason="x")
    (first,) = deliver_all(served, endpoint)
    delivery = Delivery.objects.get()
    client = _manager()

    listed = client.get(DELIVERIES, {"status__exact": "delivered"})
    assert "voucher.voided" in listed.content.decode()
    asked = client.post(
        DELIVERIES,
        {"action": "delivery_send_again", "_selected_action": [delivery.pk]},
    )
    assert 'name="reason"' in asked.content.decode()
    client.post(
        DELIVERIES,
        {
            "action": "delivery_send_again",
            "_selected_action": [delivery.pk],
            "apply": "1",
            "reason": "their server lost it",
        },
    )

    entry = AuditEntry.objects.get(action="webhook_delivery.sent_again")
    assert entry.reason == "their server lost it"
    assert entry.acting_user.username == "campaign-manager"
    events = deliver_all(served, endpoint)
    assert [e["id"] for e in events] == [first["id"], first["id"]]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    page = client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.content.decode().count('<td class="field-status_code">') == 2


def test_support_staff_cannot_see_or_manage_webhooks(served):
    client = Client()
    client.force_login(staff_in(SUPPORT))

    assert client.get(DELIVERIES).status_code == 403
    assert client.get(ADD).status_code == 403
