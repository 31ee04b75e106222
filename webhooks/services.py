"""Every write about webhooks: events emitted, endpoints' secrets, deliveries sent again.

Other rooms call ``emit`` in the transaction of the effect the event tells
(a redemption, a draw won): the event, its deliveries and their tasks commit
with it, and a rolled-back effect sends nothing.
"""

import datetime as dt
import json
from collections.abc import Callable, Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from couponsite.audit import audit_record
from couponsite.errors import DomainError
from webhooks.events import EVENT_TYPES
from webhooks.models import Delivery, Endpoint, Event, new_secret
from webhooks.subscriptions import subscribed, subscriptions_changed
from webhooks.tasks import delivery_enqueue

RETRY_FOR = dt.timedelta(days=1)


class UnknownEventType(ValueError):
    pass


class DeliveryNotFinished(DomainError):
    code = "DELIVERY_NOT_FINISHED"
    detail = _("This delivery is still being tried; it can be sent again once it ends.")


def retry_until(now: dt.datetime) -> dt.datetime:
    from django.conf import settings

    return now + dt.timedelta(seconds=settings.WEBHOOKS_RETRY_SECONDS)


Payload = dict | Callable[[], dict]


def emit(
    event_type: str,
    payload: Payload,
    *,
    once_key: str | None = None,
    now: dt.datetime | None = None,
) -> Event | None:
    """Tell ``event_type`` to every active endpoint subscribed to it, in the
    caller's transaction (one is opened when there is none).

    ``payload``: what the caller chose to tell (ids, codes, amounts, campaign
    slug, customer id; never a phone number or an email), or a function making
    it (called only when someone is subscribed: it may query); made JSON-safe
    here (decimals and datetimes become strings). With nobody subscribed (this
    process's view, ``webhooks.subscriptions``) this runs no query and returns
    None. ``once_key``: an event told once only (e.g. a rush day sold out); a
    second emit with the same key does nothing.
    """
    events = emit_many(event_type, [payload], once_key=once_key, now=now)
    return events[0] if events else None


def emit_many(
    event_type: str,
    payloads: Iterable[Payload],
    *,
    once_key: str | None = None,
    now: dt.datetime | None = None,
) -> list[Event]:
    """``emit`` for many events of one type (a batch of vouchers generated)."""
    if event_type not in EVENT_TYPES:
        raise UnknownEventType(event_type)
    if not subscribed(event_type):
        return []
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        endpoints = [
            endpoint
            for endpoint in Endpoint.objects.filter(active=True).only("id", "events")
            if event_type in endpoint.events
        ]
        if not endpoints:
            return []
        events = [
            Event(
                type=event_type,
                payload=_json_safe(payload() if callable(payload) else payload),
                once_key=once_key,
                created_at=now,
            )
            for payload in payloads
        ]
        if once_key is None:
            Event.objects.bulk_create(events)
        else:
            try:
                with transaction.atomic():
                    events[0].save(force_insert=True)
            except IntegrityError:
                return []  # told already
        deliveries = Delivery.objects.bulk_create(
            Delivery(
                event=event,
                endpoint=endpoint,
                retry_until=retry_until(now),
                created_at=now,
            )
            for event in events
            for endpoint in endpoints
        )
        for delivery in deliveries:
            delivery_enqueue(delivery)
    return events


def _json_safe(payload: dict) -> dict:
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def endpoint_saved() -> None:
    """An endpoint was added, changed or deleted (the admin): this process reads
    the subscriptions again once that commits."""
    subscriptions_changed()


def endpoint_roll_secret(
    *, endpoint: Endpoint, acting_user: AbstractBaseUser | None, reason: str
) -> Endpoint:
    """A new signing secret for ``endpoint`` (the old one stops at once),
    recorded with who and why (the secret itself is not)."""
    with transaction.atomic():
        endpoint.secret = new_secret()
        endpoint.secret_rolled_at = timezone.now()
        endpoint.save(update_fields=["secret", "secret_rolled_at"])
        audit_record(
            acting_user=acting_user,
            action="webhook_endpoint.secret_rolled",
            target=endpoint,
            reason=reason,
        )
    return endpoint


def delivery_send_again(
    *, delivery: Delivery, acting_user: AbstractBaseUser | None, reason: str
) -> Delivery:
    """Send a delivered or failed delivery again (the same event id: receivers
    that deduplicate see a repeat), tried again for a day; recorded with who and
    why. A delivery still pending is refused (``DELIVERY_NOT_FINISHED``)."""
    now = timezone.now()
    with transaction.atomic():
        changed = Delivery.objects.filter(
            pk=delivery.pk,
            status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED],
        ).update(
            status=Delivery.Status.PENDING,
            next_attempt_at=now,
            retry_until=retry_until(now),
            delivered_at=None,
        )
        if not changed:
            raise DeliveryNotFinished()
        delivery.refresh_from_db()
        audit_record(
            acting_user=acting_user,
            action="webhook_delivery.sent_again",
            target=delivery,
            reason=reason,
        )
        delivery_enqueue(delivery)
    return delivery
