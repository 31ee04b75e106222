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
import threading

from django.core.wsgi import get_wsgi_application
from django.db import connections

from couponsite.group_commit import group_committer
from couponsite.redis_client import get_redis, redis_key
from couponsite.server import Router, WSGIBridge
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


def post_scope(
    path: str,
    token: str | None,
    *,
    json_body: bytes | None = None,
    extra: list[tuple[bytes, bytes]] = (),
) -> dict:
    """The ASGI scope of ``POST path`` from a client on loopback: the bearer
    ``token`` if given, ``extra`` headers, and a JSON body's headers."""
    raw_headers = [(b"host", b"testserver")]
    if token is not None:
        raw_headers.append((b"authorization", f"Bearer {token}".encode()))
    raw_headers += list(extra)
    if json_body is not None:
        raw_headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(json_body)).encode()),
        ]
    return {
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
    extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = post_scope(path, token, json_body=json_body, extra=extra)

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


def same_answer(client, token: str, path: str, **headers: str) -> tuple[int, dict]:
    """The thin path answers (does not pass) exactly what Django answers, both
    asked with ``headers`` (``**{"Accept-Language": "zh-TW"}``)."""
    passed, status, thin_headers, body = thin_answer(path, token, **headers)
    assert not passed, "the thin path passed a refusal on to Django"
    thin = (status, thin_headers, body)
    django = django_answer(client, path, **headers)
    # (This module is not rewritten by pytest: the message shows both answers.)
    assert thin == django, f"thin path {thin!r} != Django {django!r}"
    return status, {"headers": thin_headers, "body": body}


async def _post(app, scope: dict, body: bytes) -> tuple[int, bytes]:
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def _close(bridge: WSGIBridge) -> None:
    """Close the database connection of each of the bridge's threads (one job
    each: they wait for one another), then the threads. (No threads when no
    request reached Django.)"""
    if bridge._pool is None:
        bridge.close()
        return
    everyone = threading.Barrier(bridge.threads)

    def close() -> None:
        everyone.wait(timeout=10)
        connections.close_all()

    for job in [bridge._pool.submit(close) for _ in range(bridge.threads)]:
        job.result()
    bridge.close()


def served_race(
    path: str, requests: list[tuple[str, bytes | None, list[tuple[bytes, bytes]]]]
) -> tuple[list[tuple[int, bytes]], dict]:
    """Send every (token, JSON body or None, extra headers) ``POST path`` at
    once to the application a worker serves (the thin routes, then Django's
    whole stack through the WSGI bridge, 4 threads); the answers (status, body)
    in order, and the loop's group committer's stats when the last came."""
    bridge = WSGIBridge(get_wsgi_application(), threads=4)
    app = Router(bridge, ROUTES)

    async def race():
        try:
            answers = await asyncio.gather(
                *(
                    _post(
                        app,
                        post_scope(path, token, json_body=body, extra=extra),
                        body or b"",
                    )
                    for token, body, extra in requests
                )
            )
            return answers, vars(group_committer().stats).copy()
        finally:
            await shutdown()

    try:
        return asyncio.run(race())
    finally:
        _close(bridge)


def rate_limit_hits(name: str, identity: str) -> int:
    """Hits the rate limit ``name`` counted for ``identity`` (Redis)."""
    return get_redis().zcard(redis_key("rl", name, identity))
