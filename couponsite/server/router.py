"""The ASGI application's first stop: routes answered before Django, then Django.

Issue 18's thin path (hot refusals of the rush, repeats of draws and claims)
will be ASGI callables listed in ``couponsite.server.routes.ROUTES``; a request
that matches none goes to Django unchanged. The router also answers what the
server as a whole decides: an over-long request line (414, as gunicorn's
``limit_request_line`` did) and the ASGI lifespan. Every answer, whoever gave
it, is counted here (``couponsite.metrics``: route pattern, method, status,
seconds).
"""

import asyncio
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.utils import translation
from django.utils.translation import gettext_noop

from couponsite import metrics
from couponsite.languages import request_language

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# A route's app: True once it answered, False to let Django answer.
RouteApp = Callable[[Scope, Receive, Send], Awaitable[bool]]

# Room for "METHOD " and " HTTP/1.1" around the target, as gunicorn counts.
_REQUEST_LINE_EXTRA = len(" HTTP/1.1") + 1


@dataclass(frozen=True)
class Route:
    """Requests ``app`` may answer instead of Django: this method, and a path that
    ``pattern`` matches whole; its named groups land in ``scope["path_params"]``.
    The app returns True once it answered (exactly what Django would: bodies,
    headers, status codes), or False, having sent nothing, to let Django
    answer; a body it read (only with ``read_body``) reaches Django all the
    same. ``label``: the route in the answers' metrics, Django's pattern for
    the same URL (``api/v1/campaigns/<slug:slug>/draws``), so that an
    endpoint's answers add up whichever path gave them."""

    method: str
    pattern: re.Pattern[str]
    app: RouteApp
    label: str

    @classmethod
    def of(
        cls, method: str, pattern: str, app: RouteApp, *, label: str | None = None
    ) -> "Route":
        return cls(method.upper(), re.compile(pattern), app, label or pattern)


def in_request_language(
    scope: Scope, message: str, params: dict[str, Any]
) -> tuple[str, str]:
    """``message`` (a msgid marked with ``gettext_noop``, ``{named}``
    placeholders) filled in with ``params`` in the language Django would answer
    this request in (its ``Accept-Language``), and that language. English when
    no Django is loaded to translate (a bare WSGI app, as the server's tests run)."""
    if not apps.ready:
        return message.format(**params), "en"
    accept = b""
    for name, value in scope["headers"]:
        if name == b"accept-language":
            accept = value
            break
    language = request_language(accept.decode("latin-1"))
    with translation.override(language):
        return translation.gettext(message).format(**params), language


async def respond(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    scope: Scope,
    params: dict[str, Any] | None = None,
    close: bool = False,
) -> None:
    """A ``{code, detail}`` JSON answer, like every error of the API, its
    ``detail`` ``message`` in the request's language (``in_request_language``)."""
    detail, language = in_request_language(scope, message, params or {})
    body = json.dumps({"code": code, "detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"content-language", language.encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# Set by a route that passes a request whose rate-limit hit its gate already
# counted, to that scope's name: the WSGI bridge hands it to Django (in the
# environ, under the same key; a client's headers cannot make such a key), whose
# throttle then counts nothing for that scope (``CustomerAndAddressThrottle``).
RATE_COUNTED = "couponsite.rate_counted"
# Where ``read_body`` keeps the messages it received, for Django to read again.
_RECEIVED = "couponsite.received"
# A route waits this long for a body, then leaves the request to Django.
BODY_TIMEOUT_SECONDS = 5.0


async def read_body(scope: Scope, receive: Receive, *, limit: int) -> bytes | None:
    """A route's read of the request's body: the body, or None when it is not
    a small one that has arrived (no ``Content-Length`` or more than ``limit``
    bytes, chunked, the client slow or gone). Either way what was received is
    kept, and Django reads it first if the route passes (``Router``)."""
    length = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is not None:
                return None
            length = int(value)  # httptools refused a malformed one already
        elif name == b"transfer-encoding":
            return None
    if length is None or length > limit:
        return None
    received = scope.setdefault(_RECEIVED, [])
    chunks, size = [], 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            while True:
                message = await receive()
                received.append(message)
                if message["type"] != "http.request":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        return None


def _replaying(scope: Scope, receive: Receive) -> Receive:
    """``receive``, after the messages a route read (``read_body``), if any."""
    received = scope.pop(_RECEIVED, None)
    if not received:
        return receive
    pending = deque(received)

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


class Router:
    """``routes`` first (in order), then ``django`` for everything else."""

    def __init__(
        self,
        django: ASGIApp,
        routes: Iterable[Route] = (),
        *,
        limit_request_line: int = 4094,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        on_startup: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.django = django
        self.routes = tuple(routes)
        self.on_shutdown = on_shutdown
        self.on_startup = on_startup
        self.limit_request_line = limit_request_line

    def configure(
        self, *, threads: int, timeout: float, limit_request_line: int
    ) -> None:
        """The server's settings (gunicorn.conf.py), from the worker before it serves."""
        self.limit_request_line = limit_request_line
        configure = getattr(self.django, "configure", None)
        if configure is not None:
            configure(threads=threads, timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        # Nothing else is served: uvicorn upgrades no websocket without a library.

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer, and count the answer (``couponsite.metrics``): its route
        pattern, method, status and seconds, once its last byte is sent."""
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        label = metrics.UNMATCHED
        try:
            if self.limit_request_line and _request_line_length(scope) > (
                self.limit_request_line
            ):
                await respond(
                    sending,
                    414,
                    "URI_TOO_LONG",
                    gettext_noop("The request line is longer than {limit} bytes."),
                    params={"limit": self.limit_request_line},
                    scope=scope,
                    close=True,
                )
                return
            for route in self.routes:
                if scope["method"] == route.method and (
                    match := route.pattern.fullmatch(scope["path"])
                ):
                    label = route.label
                    scope["path_params"] = match.groupdict()
                    if await route.app(scope, receive, sending):
                        return
                    receive = _replaying(scope, receive)
                    break  # the route passed: Django answers, unchanged
            await self.django(scope, receive, sending)
            label = scope.get(metrics.ROUTE_KEY, label)
        finally:
            # status 0: no answer was sent (the client left, the answer failed).
            if status:
                metrics.answer_observe(
                    label, scope["method"], status, time.perf_counter() - started
                )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.on_startup is not None:
                    await self.on_startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.on_shutdown is not None:
                    try:
                        await self.on_shutdown()
                    except Exception:
                        logger.exception("shutdown hook failed")
                close = getattr(self.django, "close", None)
                if close is not None:
                    close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _request_line_length(scope: Scope) -> int:
    target = len(scope.get("raw_path") or scope["path"].encode())
    if query := scope.get("query_string"):
        target += 1 + len(query)
    return len(scope["method"]) + target + _REQUEST_LINE_EXTRA
