"""Which event types some active endpoint subscribes to, held in each process.

``emit`` is called on hot paths (every redemption, every draw won), nearly
always with nobody subscribed; so the answer "nobody wants this type" costs no
query: the set of subscribed types lives in this process
(``couponsite.localcache``) for ``LOCAL_CACHE_SECONDS``, read again after that.
Saving or deleting an endpoint drops it in the saving process when the change
commits; other processes see the change within ``LOCAL_CACHE_SECONDS``. So an
endpoint receives the events emitted from that long after it was saved
(docs/webhooks.md, "When an endpoint starts receiving").

The thin path (on the event loop, where no query may run) asks
``held_subscribed``: unknown or timed out counts as "maybe", and the route
leaves the request to Django, which emits.
"""

from django.conf import settings
from django.db import transaction

from couponsite.localcache import MISSING, local_cached, local_forget, local_peek_stale

SUBSCRIPTIONS_KEY = "webhooks:subscribed-types"


def _load() -> frozenset[str]:
    from webhooks.models import Endpoint

    types: set[str] = set()
    for events in Endpoint.objects.filter(active=True).values_list("events", flat=True):
        types.update(events or ())
    return frozenset(types)


def subscribed_types(*, reload: bool = False) -> frozenset[str]:
    """The event types some active endpoint subscribes to (at most one query per
    ``LOCAL_CACHE_SECONDS`` and process)."""
    return local_cached(SUBSCRIPTIONS_KEY, _load, reload=reload)


def subscriptions_load() -> frozenset[str]:
    """Read the set now (at server start-up, ``webhooks.apps``)."""
    return subscribed_types(reload=True)


def subscribed(event_type: str) -> bool:
    return event_type in subscribed_types()


def subscriptions_changed() -> None:
    """An endpoint was saved or deleted: this process forgets the set once the
    change commits (now, outside a transaction)."""
    transaction.on_commit(lambda: local_forget(SUBSCRIPTIONS_KEY))


def held_subscribed(*event_types: str) -> bool | None:
    """For the event loop (no query): whether one of ``event_types`` is
    subscribed, as this process holds the set; None when it holds no fresh set
    (the caller must then let Django handle the request). As
    ``draws.thin.held``: past half its life the set is read again in the thin
    path's refresh thread, so under steady traffic it never times out."""
    from couponsite.server import thin

    value, stale_for = local_peek_stale(SUBSCRIPTIONS_KEY)
    if value is MISSING or stale_for > -settings.LOCAL_CACHE_SECONDS / 2:
        thin.refresh_soon(SUBSCRIPTIONS_KEY, lambda: subscribed_types(reload=True))
    if value is MISSING or stale_for > 0:
        return None
    return any(event_type in value for event_type in event_types)


def thin_may_take(*event_types: str) -> bool:
    """A thin route that would cause one of ``event_types`` may take its request:
    this process knows, without a query, that nobody subscribes to them."""
    return held_subscribed(*event_types) is False
