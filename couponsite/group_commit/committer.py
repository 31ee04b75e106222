"""The group committer: a queue, a runner, one connection (see the package)."""

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import select
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from couponsite.errors import DomainError

logger = logging.getLogger(__name__)

# After a failed connection attempt, fail batches at once for this long.
RECONNECT_BACKOFF_SECONDS = 1.0


class GroupCommitFailed(Exception):
    """This request was not decided by the group committer: send it down the
    normal path. ``outcome_unknown``: the connection was lost after ``COMMIT``
    was sent, so the request may have been committed."""

    def __init__(self, reason: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(reason)
        self.outcome_unknown = outcome_unknown


@dataclasses.dataclass
class GroupCommitStats:
    """What a committer did (tests and the benchmark read it)."""

    transactions: int = 0  # committed, batches and single retries alike
    committed_items: int = 0
    largest_batch: int = 0
    retried_alone: int = 0
    failed: int = 0
    connections: int = 0


@dataclasses.dataclass(frozen=True, eq=False)
class Writer:
    """How a mode writes one kind of request in groups (``GroupCommitter.submit``).

    ``group(request)`` names the requests that share a transaction: those of
    one kind with equal keys. ``write(conn, group, requests)`` writes them in
    the caller's transaction and returns one answer per request, in order: a
    result, or a ``DomainError`` for a refusal; a database error fails the
    group (the committer rolls back and writes each request alone).
    ``once_per_batch(request)``, if given, keeps two requests with the same
    value out of one batch: the second waits for the next batch.
    ``committed(answers)``, if given, runs once the group's transaction has
    committed, with its answers (results and refusals), before they are handed
    out: e.g. to count what was committed (``couponsite.metrics``).
    """

    kind: str
    group: Callable[[Any], Hashable]
    write: Callable[[psycopg.AsyncConnection, Hashable, list], Awaitable[list]]
    once_per_batch: Callable[[Any], Hashable] | None = None
    committed: Callable[[list], None] | None = None


@dataclasses.dataclass(eq=False, slots=True)
class _Pending:
    writer: Writer
    request: Any
    future: asyncio.Future


def connection_params() -> dict[str, Any]:
    """Django's parameters for the default database, for psycopg's own connect."""
    django_connection = connections["default"]
    if django_connection.vendor != "postgresql":
        raise ImproperlyConfigured("Group commit needs PostgreSQL.")
    params = django_connection.get_connection_params()
    # Django's cursor class and adapters are for its synchronous connection.
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.setdefault("application_name", "couponsite group commit")
    return params


def utc(now: dt.datetime | None) -> dt.datetime:
    """``now`` (default: this moment) in UTC, as requests carry it."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return now.astimezone(dt.UTC)


def _has_unread_input(conn: psycopg.AsyncConnection) -> bool:
    poll = select.poll()  # not select.select: a busy worker's fds pass 1024
    poll.register(conn.fileno(), select.POLLIN)
    return bool(poll.poll(0))


class _Lost(Exception):
    def __init__(self, failure: GroupCommitFailed) -> None:
        super().__init__(str(failure))
        self.failure = failure


class GroupCommitter:
    """Commits the modes' requests in groups, from one event loop, on one connection.

    Use the loop's own (``group_committer()``), from that loop only; ``aclose()``
    it when the loop ends. Each mode submits its requests with its ``Writer``
    (the rush's reservations and grabs, the draw's first draws, redemptions).
    ``params`` are psycopg's (default: Django's for the default database), ``max_batch``,
    ``window`` and ``prepare`` the settings
    ``RUSH_GROUP_COMMIT_MAX_BATCH``, ``_WINDOW`` (seconds) and ``_PREPARE``.
    """

    def __init__(
        self,
        *,
        params: dict[str, Any] | None = None,
        max_batch: int | None = None,
        window: float | None = None,
        prepare: bool | None = None,
    ) -> None:
        self.params = dict(params if params is not None else connection_params())
        if settings.RUSH_GROUP_COMMIT_PREPARE if prepare is None else prepare:
            self.params["prepare_threshold"] = 1
        self.max_batch = max_batch or settings.RUSH_GROUP_COMMIT_MAX_BATCH
        self.window = settings.RUSH_GROUP_COMMIT_WINDOW if window is None else window
        self.stats = GroupCommitStats()
        self.closed = False
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._runner: asyncio.Task | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._connect_not_before = 0.0

    # --- The API -------------------------------------------------------------------

    def submit(self, writer: Writer, request: Any) -> asyncio.Future:
        """Queue ``request`` for ``writer``: a future of its answer, set only once
        the transaction that wrote it has committed (or ``GroupCommitFailed``)."""
        if self.closed:
            raise GroupCommitFailed("The group committer is closed.")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append(_Pending(writer, request, future))
        if self._runner is None:
            self._runner = loop.create_task(self._run(), name="group commit")
        self._wake.set()
        # A caller cancelled (its client went away) before its request was taken
        # cancels the future, and the request is dropped unwritten; once taken, it
        # is committed all the same.
        return future

    async def aclose(self) -> None:
        """Write what is queued, then close the connection."""
        self.closed = True
        self._wake.set()
        if self._runner is not None:
            await self._runner
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @property
    def backend_pid(self) -> int | None:
        """The Postgres backend of the connection, if there is one (tests)."""
        if self._conn is None or self._conn.closed:
            return None
        return self._conn.info.backend_pid

    # --- The runner ----------------------------------------------------------------

    async def _run(self) -> None:
        while self._queue or not self.closed:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                if self.window and self._queue:
                    await asyncio.sleep(self.window)
                continue
            batch = self._take()
            try:
                await self._commit_batch(batch)
            except BaseException as exc:
                self._fail(batch, GroupCommitFailed(f"group commit crashed: {exc!r}"))
                if not isinstance(exc, Exception):
                    raise
                logger.exception("group commit: a batch crashed")

    def _take(self) -> list[_Pending]:
        """The next batch: queued requests in order, at most ``max_batch``, and
        none its writer's ``once_per_batch`` keeps out (e.g. no coupon twice: a
        second request for one waits for the next batch, so its answer is what it
        would be one after the other)."""
        batch: list[_Pending] = []
        later: list[_Pending] = []
        taken: set[tuple] = set()
        while self._queue and len(batch) < self.max_batch:
            pending = self._queue.popleft()
            if pending.future.done():
                continue
            once = pending.writer.once_per_batch
            if once is not None:
                key = (pending.writer.kind, once(pending.request))
                if key in taken:
                    later.append(pending)
                    continue
                taken.add(key)
            batch.append(pending)
        self._queue.extendleft(reversed(later))
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        return batch

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        groups: dict[tuple, list[_Pending]] = {}
        for pending in batch:
            writer = pending.writer
            key = (writer.kind, writer.group(pending.request))
            groups.setdefault(key, []).append(pending)
        for pendings in groups.values():
            await self._commit_group(pendings)

    async def _commit_group(self, pendings: list[_Pending]) -> None:
        writer = pendings[0].writer
        group = writer.group(pendings[0].request)

        def write(conn, requests):
            return writer.write(conn, group, requests)

        try:
            answers = await self._transaction(write, [p.request for p in pendings])
        except _Lost as lost:
            self._fail(pendings, lost.failure)
        except Exception as exc:
            if len(pendings) == 1:
                logger.warning(
                    "group commit: a %s request failed: %r", writer.kind, exc
                )
                self._fail(pendings, GroupCommitFailed(f"not written: {exc!r}"))
                return
            logger.warning(
                "group commit: a group of %d %s requests failed (%r), "
                "writing each alone",
                len(pendings),
                writer.kind,
                exc,
            )
            self.stats.retried_alone += len(pendings)
            for pending in pendings:
                await self._commit_group([pending])
        else:
            self.stats.transactions += 1
            self.stats.committed_items += len(pendings)
            if writer.committed is not None:
                try:
                    writer.committed(answers)
                except Exception:
                    logger.exception("group commit: %s's committed hook", writer.kind)
            for pending, answer in zip(pendings, answers, strict=True):
                if pending.future.done():
                    continue
                if isinstance(answer, DomainError):
                    pending.future.set_exception(answer)
                else:
                    pending.future.set_result(answer)

    async def _transaction(self, write, requests: list) -> list:
        """``write``'s answers, once its transaction has committed."""
        conn = await self._connection()
        commit_sent = False
        try:
            answers = await write(conn, requests)
            commit_sent = True
            await conn.commit()
        except BaseException as exc:
            if conn.closed or conn.broken:
                self._conn = None
                raise _Lost(
                    GroupCommitFailed(
                        f"lost the database connection: {exc!r}",
                        outcome_unknown=commit_sent,
                    )
                ) from exc
            try:
                await conn.rollback()
            except BaseException:
                await self._drop(conn)
                raise _Lost(
                    GroupCommitFailed(
                        f"could not roll back: {exc!r}", outcome_unknown=commit_sent
                    )
                ) from exc
            raise
        return answers

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is not None and not self._conn.closed:
            if not _has_unread_input(self._conn):
                return self._conn
            # Between transactions the server speaks unasked only to say goodbye
            # (a terminated backend, a restart): do not lose a batch to that.
            await self._drop(self._conn)
        self._conn = None
        if time.monotonic() < self._connect_not_before:
            raise _Lost(GroupCommitFailed("the database is unavailable"))
        try:
            conn = await psycopg.AsyncConnection.connect(**self.params)
            await conn.execute("SET TIME ZONE 'UTC'")
            await conn.commit()
        except psycopg.Error as exc:
            self._connect_not_before = time.monotonic() + RECONNECT_BACKOFF_SECONDS
            raise _Lost(
                GroupCommitFailed(f"cannot connect to the database: {exc!r}")
            ) from exc
        self.stats.connections += 1
        self._conn = conn
        return conn

    async def _drop(self, conn: psycopg.AsyncConnection) -> None:
        self._conn = None
        with contextlib.suppress(psycopg.Error):
            await conn.close()

    def _fail(self, pendings: list[_Pending], failure: GroupCommitFailed) -> None:
        for pending in pendings:
            if not pending.future.done():
                self.stats.failed += 1
                error = GroupCommitFailed(
                    str(failure), outcome_unknown=failure.outcome_unknown
                )
                error.__cause__ = failure.__cause__
                pending.future.set_exception(error)


# One committer per event loop: a gunicorn worker runs one loop, so one connection.
_committers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommitter]" = (
    weakref.WeakKeyDictionary()
)


async def group_committer_close() -> None:
    """Close the running loop's committer, if it has one (the server's shutdown:
    what is queued is written first)."""
    committer = _committers.pop(asyncio.get_running_loop(), None)
    if committer is not None and not committer.closed:
        await committer.aclose()


def group_committer() -> GroupCommitter:
    """The running event loop's committer, made on first use."""
    loop = asyncio.get_running_loop()
    committer = _committers.get(loop)
    if committer is None or committer.closed:
        committer = _committers[loop] = GroupCommitter()
    return committer


def loop_committer() -> GroupCommitter | None:
    """The running loop's committer for a thin route; None where group commit
    cannot run (the database is not PostgreSQL): the route leaves it to Django."""
    if connections["default"].vendor != "postgresql":
        return None
    return group_committer()
