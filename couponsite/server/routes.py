"""Requests answered before Django: issue 18's thin path (``couponsite.server.thin``).

Each entry is a ``couponsite.server.Route``: a method, a path pattern and an
ASGI callable that answers on the event loop, with the same bodies, headers and
status codes as Django would (the contract and the schema do not change), and
with rate limits still applied (``couponsite.server.thin``). A request no route
matches, or that its route passes on, goes to Django.

The apps add their routes when Django starts (``draws.apps``,
``vouchers.apps``): this module sits below them and cannot name them.
"""

import logging
from collections.abc import Awaitable, Callable

from couponsite.server import thin
from couponsite.server.router import Route

logger = logging.getLogger(__name__)

ROUTES: list[Route] = []

# Run on the event loop when the server stops (ASGI lifespan shutdown), and by the
# tests after each loop: e.g. the rush's group committer writes what is queued.
ON_SHUTDOWN: list[Callable[[], Awaitable[None]]] = []


# Run in the thin path's refresh thread when the server starts (ASGI lifespan
# startup), before the first request: what a thin route must know without a
# query (e.g. whether any webhook endpoint listens, ``webhooks.apps``).
ON_STARTUP: list[Callable[[], object]] = []


async def startup() -> None:
    for load in ON_STARTUP:
        try:
            await thin.load_now(load)
        except Exception:  # the route then asks again on its first request
            logger.warning("thin path: start-up load failed", exc_info=True)


async def shutdown() -> None:
    for hook in ON_SHUTDOWN:
        await hook()
    thin.loop_close()
