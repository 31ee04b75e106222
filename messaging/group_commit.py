"""Messages written by a group commit (the thin path's writers, raw SQL on the
event loop's psycopg connection): the rows in the batch's own transaction, in
one multi-row INSERT; their send tasks are enqueued after the COMMIT
(``messages_enqueue_soon``), or by the sweeper if the process dies first."""

import collections
import datetime as dt
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection
from psycopg import AsyncCursor

from couponsite.group_commit.sql import (
    insert_fields,
    insert_params,
    insert_sql,
    returning,
)
from messaging.models import Message
from messaging.services import messages_enqueue

logger = logging.getLogger("messaging")


@dataclass(frozen=True, slots=True)
class QueuedSms:
    to: str
    body: str
    kind: str
    now: dt.datetime


@functools.cache
def _insert_sql() -> str:
    # Every column: those a row leaves out get the model's default.
    fields = insert_fields(Message)
    return insert_sql(Message, fields, returning(Message, "id", "recipient"))


async def sms_insert(cur: AsyncCursor, messages: list[QueuedSms]) -> dict[str, int]:
    """Write ``messages`` (pending) in the caller's transaction: one statement
    for the batch. By recipient, the new row's id (one message per recipient)."""
    rows = [
        {
            "channel": Message.Channel.SMS,
            "recipient": m.to,
            "body": m.body,
            "kind": m.kind,
            "status": Message.Status.PENDING,
            "next_attempt_at": m.now,
            "created_at": m.now,
        }
        for m in messages
    ]
    params = insert_params(Message, insert_fields(Message), rows)
    await cur.execute(_insert_sql(), params)
    return {recipient: message_id for message_id, recipient in await cur.fetchall()}


# Ids committed, waiting for their task; one thread enqueues them, all those
# waiting at once in one task, on Django's connection (never on the loop).
_waiting: collections.deque[int] = collections.deque()
_enqueuer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="messages-enqueue")
_lock = threading.Lock()


def messages_enqueue_soon(message_ids: list[int]) -> None:
    """Enqueue the send tasks of committed messages from a thread of its own;
    the caller (the event loop) does not wait. If this fails or the process
    dies first, the sweeper enqueues them a minute later."""
    with _lock:
        _waiting.extend(message_ids)
    _enqueuer.submit(_drain)


def _drain() -> None:
    with _lock:
        ids = list(_waiting)
        _waiting.clear()
    if not ids:
        return
    try:
        messages_enqueue(message_ids=ids)
    except Exception:
        logger.exception("messages: send tasks not enqueued (the sweeper will)")
    finally:
        # No connection left open by a thread that may sleep for hours.
        connection.close()
