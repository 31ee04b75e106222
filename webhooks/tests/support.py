"""What the webhook tests share: an endpoint on the test receiver, the events it got."""

import json

from couponsite.localcache import local_forget
from couponsite.testing.tasks import run_queued_tasks
from webhooks.events import EVENT_TYPES
from webhooks.models import Endpoint
from webhooks.receiver_example import verify
from webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER
from webhooks.subscriptions import SUBSCRIPTIONS_KEY


def endpoint_for(served, *events: str) -> Endpoint:
    """An active endpoint at the receiver ``served`` (every event type unless named),
    known to this process at once (as the admin's save makes it)."""
    endpoint = Endpoint.objects.create(
        url=served.url, events=sorted(events or EVENT_TYPES)
    )
    local_forget(SUBSCRIPTIONS_KEY)
    return endpoint


def received_events(served, endpoint: Endpoint) -> list[dict]:
    """The events ``served`` received, in order, each checked: its signature
    verifies with the receiver example's ``verify`` and the event id header
    matches the body."""
    events = []
    for request in served.received():
        assert verify(
            secret=endpoint.secret,
            header=request.headers[SIGNATURE_HEADER],
            body=request.body,
        ), request
        event = json.loads(request.body)
        assert request.headers[EVENT_ID_HEADER] == event["id"]
        assert request.headers["Content-Type"] == "application/json"
        events.append(event)
    return events


def deliver_all(served, endpoint: Endpoint) -> list[dict]:
    """Run the queued tasks (the real worker's claim and run, in this thread);
    the events received."""
    run_queued_tasks()
    return received_events(served, endpoint)
