"""Requests answered before Django: issue 18's thin path for hot refusals.

Each entry is a ``couponsite.server.Route``: a method, a path pattern and an
ASGI callable that answers on the event loop, with the same bodies, headers and
status codes as Django would (the contract and the schema do not change), and
with rate limits still applied. A request no route matches goes to Django.

    ROUTES = [
        Route.of("POST", r"/api/v1/campaigns/(?P<slug>[-\\w]+)/grabs", grab_refusals),
    ]

Empty until the thin path is built: every request reaches Django.
"""

from couponsite.server.router import Route

ROUTES: list[Route] = []
