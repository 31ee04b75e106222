"""The thin path's test harness: one request sent to the thin routes, and the same
request through Django's whole stack, to compare the two answers.

    passed, status, headers, body = thin_answer(path, token)
    status, answer = same_answer(client, token, path)  # asserts they are equal

``thin_answer`` runs ``couponsite.server.Router`` over the routes the apps
registered (``couponsite.server.routes.ROUTES``, as a worker serves them) with a
stand-in where Django would be, so a test sees whether the route answered or
passed the request on. ``django_answer`` sends it through ``APIClient``.
"""

import asyncio

from couponsite.redis_client import get_redis, redis_key
from couponsite.server import Router
from couponsite.server.routes import ROUTES, shutdown

# Added by the HTTP server to every answer, whichever path made it.
SERVER_HEADERS = {"date", "server"}

Answer = tuple[int, dict[str, str], bytes]


class DjangoStandIn:
    """Stands where Django would: records that the route passed, and the body
    Django would read (a route that read it must hand it on whole)."""

    def __init__(self):
        self.reached = 0
        self.body = b""
        self.scope = None

    async def __call__(self, scope, receive, send):
        self.reached += 1
        self.scope = scope
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def thin_answer(
    path: str,
    token: str | None,
    *,
    json_body: bytes | None = None,
    django: DjangoStandIn | None = None,
    **headers: str,
) -> tuple[bool, int, dict[str, str], bytes]:
    """Send ``POST path`` to the thin routes, with ``json_body`` if given (as
    ``application/json``); (passed to Django?, status, headers, body). ``django``:
    the stand-in to pass to (to see what reached it)."""
    django = django or DjangoStandIn()
    app = Router(django, ROUTES)
    sent = []
    raw_headers = [(b"host", b"testserver")]
    if token is not None:
        raw_headers.append((b"authorization", f"Bearer {token}".encode()))
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if json_body is not None:
        raw_headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(json_body)).encode()),
        ]
    scope = {
        "type": "http",
        "method": "POST",
        "http_version": "1.1",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "headers": raw_headers,
    }

    async def receive():
        return {"type": "http.request", "body": json_body or b"", "more_body": False}

    async def send(message):
        sent.append(message)

    async def run():
        try:
            await app(scope, receive, send)
        finally:
            await shutdown()  # this loop's connections close with it

    asyncio.run(run())
    start = sent[0]
    return (
        bool(django.reached),
        start["status"],
        {
            name.decode(): value.decode()
            for name, value in start["headers"]
            if name.decode() not in SERVER_HEADERS
        },
        b"".join(m.get("body", b"") for m in sent[1:]),
    )


def django_answer(client, path: str, **headers: str) -> Answer:
    """``POST path`` through Django's whole stack (an ``APIClient``)."""
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = client.post(path, **extra)
    return (
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        response.content,
    )


def same_answer(client, token: str, path: str) -> tuple[int, dict]:
    """The thin path answers (does not pass) exactly what Django answers."""
    passed, status, headers, body = thin_answer(path, token)
    assert not passed, "the thin path passed a refusal on to Django"
    thin = (status, headers, body)
    django = django_answer(client, path)
    # (This module is not rewritten by pytest: the message shows both answers.)
    assert thin == django, f"thin path {thin!r} != Django {django!r}"
    return status, {"headers": headers, "body": body}


def rate_limit_hits(name: str, identity: str) -> int:
    """Hits the rate limit ``name`` counted for ``identity`` (Redis)."""
    return get_redis().zcard(redis_key("rl", name, identity))
