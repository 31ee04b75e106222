"""Django's WSGI handler behind the event loop, where no client can hold a thread.

A request is read whole on the event loop first, body included, at most
``max_body_bytes`` (413) within ``body_timeout`` seconds (408): a client that
sends slowly, or not at all, waits on the loop, not in a thread. Only then does
one of ``threads`` threads run Django and collect its answer, and the loop
writes it out, so a client that reads slowly holds memory, not a thread. The
threads are few and long-lived: each keeps its own database connection
(``CONN_MAX_AGE``), so a process never holds more than ``threads`` of them.

An answer longer than ``buffer_bytes`` (the admin's streamed CSV exports) is
streamed instead: its thread stays with it until the client has taken it, as
with the sync worker.

``oldest_request_start`` feeds the worker's heartbeat (``couponsite.server.worker``),
so gunicorn's ``timeout`` still ends a worker whose request runs too long.
"""

import asyncio
import io
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote_to_bytes
from wsgiref.util import FileWrapper

from django.utils.translation import gettext_noop

from couponsite.metrics import ROUTE_KEY
from couponsite.server.router import RATE_COUNTED, Receive, Scope, Send, respond

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

_bridges: "weakref.WeakSet[WSGIBridge]" = weakref.WeakSet()

# Django streams files (static files through whitenoise) in blocks of this size.
_FILE_BLOCK = 256 * 1024
# Larger request bodies are refused (413) before they are read.
MAX_BODY_BYTES = int(os.environ.get("REQUEST_MAX_BODY_BYTES", 16 * 1024 * 1024))


def oldest_request_start() -> float | None:
    """When (``time.monotonic()``) the longest-running request of this process
    started in its thread; None while no thread runs one."""
    starts = [start for bridge in list(_bridges) for start in bridge.running_since()]
    return min(starts, default=None)


class RequestRefused(Exception):
    """The server refuses the request itself; ``message`` is a msgid with
    ``{named}`` placeholders, filled in with ``params`` in the request's
    language when answered (``router.respond``)."""

    def __init__(self, status: int, code: str, message: str, **params) -> None:
        super().__init__(message.format(**params))
        self.status, self.code = status, code
        self.message, self.params = message, params


async def read_body(
    scope: Scope, receive: Receive, *, limit: int, timeout: float
) -> bytes | None:
    """The whole request body (None if the client left first). Raises
    ``RequestRefused`` past ``limit`` bytes or ``timeout`` seconds."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value)  # httptools refused a malformed one already
        elif name == b"transfer-encoding":
            chunked = True
    if not chunked and not length:
        return b""
    if length is not None and length > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                if chunk := message.get("body", b""):
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(limit)
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise RequestRefused(
            408,
            "REQUEST_TIMEOUT",
            gettext_noop("The request body did not arrive within {seconds} seconds."),
            seconds=f"{timeout:g}",
        ) from None


def _too_large(limit: int) -> RequestRefused:
    return RequestRefused(
        413,
        "REQUEST_TOO_LARGE",
        gettext_noop("The request body is larger than {limit} bytes."),
        limit=limit,
    )


def build_environ(scope: Scope, body: bytes) -> dict:
    """The WSGI environ of an ASGI HTTP scope whose body has been read."""
    root = scope.get("root_path", "")
    raw_path = scope.get("raw_path")
    path = (
        unquote_to_bytes(raw_path).decode("latin-1")
        if raw_path is not None
        else scope["path"].encode().decode("latin-1")
    )
    script_name = root.encode().decode("latin-1")
    if script_name and path.startswith(script_name):
        path = path[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path,
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "REMOTE_ADDR": client[0] if client else "",
        "REMOTE_PORT": str(client[1]) if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": _file_wrapper,
    }
    if RATE_COUNTED in scope:
        environ[RATE_COUNTED] = scope[RATE_COUNTED]
    if body:
        # The true length, also for a chunked body (Django reads CONTENT_LENGTH bytes).
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in scope["headers"]:
        if b"_" in name:
            # As gunicorn does: "X_Forwarded_For" must not pass for X-Forwarded-For.
            continue
        key = name.decode("latin-1").upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


def _file_wrapper(filelike, block_size: int = 8192) -> FileWrapper:
    return FileWrapper(filelike, max(block_size, _FILE_BLOCK))


class _Stream:
    """The rest of a long answer, handed from its thread to the loop a few chunks
    at a time (the thread waits while the client is slow to take them)."""

    END = object()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=4)

    def put(self, item) -> None:  # in the thread
        asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop).result()


def _settle(future: asyncio.Future, value=None, error: BaseException | None = None):
    if future.done():  # the request's task was cancelled (shutdown)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class WSGIBridge:
    """An ASGI application running the WSGI application ``app`` in ``threads``
    threads, each request only once it has fully arrived."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        threads: int = 2,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout: float = 30.0,
        buffer_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.threads = threads
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.buffer_bytes = buffer_bytes
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[int, float] = {}
        _bridges.add(self)

    def configure(self, *, threads: int, timeout: float) -> None:
        """gunicorn's ``threads`` and ``timeout`` (the body's deadline); before the
        first request."""
        self.threads = threads
        self.body_timeout = timeout

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def running_since(self) -> list[float]:
        return list(self._running.copy().values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            body = await read_body(
                scope, receive, limit=self.max_body_bytes, timeout=self.body_timeout
            )
        except RequestRefused as refused:
            await respond(
                send,
                refused.status,
                refused.code,
                refused.message,
                params=refused.params,
                scope=scope,
                close=True,
            )
            return
        if body is None:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="django")
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        environ = build_environ(scope, body)
        self._pool.submit(self._serve, environ, loop, answer)
        status, headers, content, stream = await answer
        if (route := environ.get(ROUTE_KEY)) is not None:
            scope[ROUTE_KEY] = route  # for the answers' metrics (the router)
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        if stream is None:
            await send({"type": "http.response.body", "body": content})
            return
        await send({"type": "http.response.body", "body": content, "more_body": True})
        while (item := await stream.queue.get()) is not _Stream.END:
            if isinstance(item, BaseException):
                raise item
            await send({"type": "http.response.body", "body": item, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _serve(self, environ: dict, loop, answer: asyncio.Future) -> None:
        """In a pool thread: run the app; hand the loop its whole answer, or the
        start of it and then a stream."""
        ident = threading.get_ident()
        self._running[ident] = time.monotonic()
        try:
            whole = self._respond(environ, loop, answer)
        except BaseException as error:
            loop.call_soon_threadsafe(_settle, answer, None, error)
        else:
            if whole is not None:
                loop.call_soon_threadsafe(_settle, answer, whole)
        finally:
            del self._running[ident]

    def _respond(self, environ: dict, loop, answer: asyncio.Future):
        head: list = []
        chunks: list[bytes] = []
        stream: _Stream | None = None

        def start_response(status: str, headers, exc_info=None):
            if exc_info is not None and stream is not None:
                raise exc_info[1].with_traceback(exc_info[2])
            head[:] = [status, headers]
            return chunks.append  # WSGI's legacy write()

        result = self.app(environ, start_response)
        try:
            size = sum(map(len, chunks))
            for chunk in result:
                if not chunk:
                    continue
                if stream is not None:
                    stream.put(chunk)
                    continue
                chunks.append(chunk)
                size += len(chunk)
                if size > self.buffer_bytes:
                    status, headers = _head(*head, length=None)
                    stream = _Stream(loop)
                    loop.call_soon_threadsafe(
                        _settle, answer, (status, headers, b"".join(chunks), stream)
                    )
            if stream is not None:
                stream.put(_Stream.END)
        except BaseException as error:
            if stream is None:
                raise
            stream.put(error)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # Django's request_finished: in the thread that served it
        if stream is not None:
            return None
        content = b"".join(chunks)
        status, headers = _head(*head, length=len(content))
        return status, headers, content, None


def _head(status: str, headers, *, length: int | None):
    code = int(status.split(" ", 1)[0])
    encoded = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers
    ]
    if (
        length is not None
        and code >= 200
        and code not in (204, 304)
        and not any(name == b"content-length" for name, _ in encoded)
    ):
        encoded.append((b"content-length", str(length).encode()))
    return code, encoded
