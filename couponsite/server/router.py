"""The ASGI application's first stop: routes answered before Django, then Django.

Issue 18's thin path (hot refusals of the rush, repeats of draws and claims)
will be ASGI callables listed in ``couponsite.server.routes.ROUTES``; a request
that matches none goes to Django unchanged. The router also answers what the
server as a whole decides: an over-long request line (414, as gunicorn's
``limit_request_line`` did) and the ASGI lifespan.
"""

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

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
    headers, status codes), or False, having neither read the request's body
    nor sent anything, to let Django answer."""

    method: str
    pattern: re.Pattern[str]
    app: RouteApp

    @classmethod
    def of(cls, method: str, pattern: str, app: RouteApp) -> "Route":
        return cls(method.upper(), re.compile(pattern), app)


async def respond(
    send: Send,
    status: int,
    code: str,
    detail: str,
    *,
    close: bool = False,
) -> None:
    """A ``{code, detail}`` JSON answer, like every error of the API."""
    body = json.dumps({"code": code, "detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Router:
    """``routes`` first (in order), then ``django`` for everything else."""

    def __init__(
        self,
        django: ASGIApp,
        routes: Iterable[Route] = (),
        *,
        limit_request_line: int = 4094,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.django = django
        self.routes = tuple(routes)
        self.on_shutdown = on_shutdown
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
            if self.limit_request_line and _request_line_length(scope) > (
                self.limit_request_line
            ):
                await respond(
                    send,
                    414,
                    "URI_TOO_LONG",
                    f"The request line is longer than {self.limit_request_line} bytes.",
                    close=True,
                )
                return
            for route in self.routes:
                if scope["method"] == route.method and (
                    match := route.pattern.fullmatch(scope["path"])
                ):
                    scope["path_params"] = match.groupdict()
                    if await route.app(scope, receive, send):
                        return
                    break  # the route passed: Django answers, unchanged
            await self.django(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        # Nothing else is served: uvicorn upgrades no websocket without a library.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
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
