"""One pipelined Redis connection per event loop, for the thin path's scripts.

redis-py's asyncio client takes a pooled connection per command, packs it
through several layers and reads the reply through a stream: about a third
of a millisecond of CPU per script here, more than the whole answer may cost.
The thin path needs one thing, ``EVALSHA``, at a high rate (and ``SET`` for
the marks it writes after a commit), so this client
keeps one connection, writes each command as it comes (without waiting for
the replies before it) and matches the replies in order (Redis answers a
connection's commands in the order sent), parsed by hiredis.

Errors: a lost connection, or a reply later than ``timeout``, fails every
command waiting on it with ``ConnectionError`` (an ``OSError``: one of
``couponsite.redis_client.REDIS_ERRORS``) and the next command connects anew.
A script Redis does not know (``NOSCRIPT``, e.g. after a restart) is sent
again whole with ``EVAL``.
"""

import asyncio
import collections
import logging
import time
from collections.abc import Sequence

import hiredis
from redis.connection import parse_url

logger = logging.getLogger(__name__)

__all__ = ["LoopRedis", "RedisReplyError"]


class RedisReplyError(Exception):
    """Redis answered a command with an error (other than NOSCRIPT)."""


def pack(*parts: object) -> bytes:
    """A command in RESP (bytes, str and int arguments; others as ``str()``)."""
    out = [b"*%d\r\n" % len(parts)]
    append = out.append
    for part in parts:
        kind = type(part)
        if kind is str:
            data = part.encode()
        elif kind is int:
            data = b"%d" % part
        elif kind is bytes:
            data = part
        else:
            data = str(part).encode()
        append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: "LoopRedis") -> None:
        self.owner = owner

    def data_received(self, data: bytes) -> None:
        self.owner._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._lost(exc)


class LoopRedis:
    def __init__(self, url: str, *, timeout: float, **override: object) -> None:
        # override: e.g. another host and port (a Redis Cluster's node).
        self.settings = {**parse_url(url), **override}
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.connecting: asyncio.Future | None = None
        self.reader = hiredis.Reader()
        # (future, sent at): the commands written and not answered yet, in order.
        self.waiting: collections.deque[tuple[asyncio.Future | None, float]] = (
            collections.deque()
        )
        self.watchdog: asyncio.TimerHandle | None = None

    async def evalsha(
        self, sha: bytes, source: bytes, keys: Sequence[object], args: Sequence[object]
    ):
        """Run a script by its SHA1 (``source`` is sent only if Redis lacks it)."""
        reply = await self._command(pack(b"EVALSHA", sha, len(keys), *keys, *args))
        if isinstance(reply, hiredis.ReplyError):
            if not str(reply).startswith("NOSCRIPT"):
                raise RedisReplyError(str(reply))
            reply = await self._command(pack(b"EVAL", source, len(keys), *keys, *args))
            if isinstance(reply, hiredis.ReplyError):
                raise RedisReplyError(str(reply))
        return reply

    async def set(self, key: str, value: object, *, ex: int) -> None:
        """``SET key value EX ex`` (a mark written once its row is committed)."""
        reply = await self._command(pack(b"SET", key, value, b"EX", ex))
        if isinstance(reply, hiredis.ReplyError):
            raise RedisReplyError(str(reply))

    async def get(self, key: str) -> bytes | None:
        return await self.call(b"GET", key)

    async def call(self, *parts: object):
        """Any command; an error reply raises ``RedisReplyError``."""
        reply = await self._command(pack(*parts))
        if isinstance(reply, hiredis.ReplyError):
            raise RedisReplyError(str(reply))
        return reply

    async def _command(self, command: bytes):
        if self.transport is None or self.transport.is_closing():
            await self._connect()
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((future, time.monotonic()))
        self.transport.write(command)
        return await future

    async def _connect(self) -> None:
        if self.connecting is not None:
            await asyncio.shield(self.connecting)
            return
        loop = asyncio.get_running_loop()
        self.connecting = loop.create_future()
        try:
            async with asyncio.timeout(self.timeout):
                transport, _ = await loop.create_connection(
                    lambda: _Protocol(self),
                    self.settings.get("host", "127.0.0.1"),
                    self.settings.get("port", 6379),
                )
            self.reader = hiredis.Reader()
            self.transport = transport
            hello = []
            if password := self.settings.get("password"):
                username = self.settings.get("username")
                hello.append(
                    pack(b"AUTH", username, password)
                    if username
                    else pack(b"AUTH", password)
                )
            hello.append(pack(b"SELECT", self.settings.get("db", 0)))
            futures = []
            for command in hello:
                future = loop.create_future()
                futures.append(future)
                self.waiting.append((future, time.monotonic()))
                transport.write(command)
            self._watch()
            async with asyncio.timeout(self.timeout):
                for future in futures:
                    reply = await future
                    if isinstance(reply, hiredis.ReplyError):
                        transport.abort()
                        raise ConnectionError(f"Redis refused the connection: {reply}")
        except TimeoutError:
            self._abort()
            raise ConnectionError("Redis did not answer in time") from None
        except BaseException as exc:
            self.connecting.set_exception(
                exc if isinstance(exc, OSError) else ConnectionError(str(exc))
            )
            self.connecting.exception()  # retrieved: nobody else may wait on it
            raise
        else:
            self.connecting.set_result(None)
        finally:
            self.connecting = None

    def _received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future, _ = self.waiting.popleft()
            if future is not None and not future.done():
                future.set_result(reply)

    def _lost(self, exc: Exception | None) -> None:
        self.transport = None
        error = ConnectionError(f"Redis connection lost: {exc or 'closed'}")
        while self.waiting:
            future, _ = self.waiting.popleft()
            if future is not None and not future.done():
                future.set_exception(error)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None

    def _watch(self) -> None:
        """Every so often: a reply later than ``timeout`` drops the connection."""
        if self.waiting and time.monotonic() - self.waiting[0][1] > self.timeout:
            logger.warning("thin path: Redis answered nothing for %ss", self.timeout)
            self._abort()
            return
        loop = asyncio.get_running_loop()
        self.watchdog = loop.call_later(min(1.0, self.timeout / 2), self._watch)

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()  # connection_lost fails the waiting commands

    def close(self) -> None:
        try:
            self._abort()
        except RuntimeError:  # its loop is closed already: nothing left to close
            self.transport = None
