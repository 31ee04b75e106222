"""Every key this project writes to Redis starts with a namespace that changes
when the database does.

Keys are built from database ids ("drew today" marks, odds, sold-out flags, the
rush's state, rate limits, token owners). A database that is reset, recreated or
restored elsewhere numbers its rows anew, and without a namespace Redis would
answer for the rows of the old one. The namespace is 12 hex digits hashed from:

- the ``KeyNamespace`` row: a random value written by the migration that creates
  the table (a fresh database gets a fresh value), written anew when the row is
  missing (a flushed database);
- on Postgres, the database's OID: a dump restored into a new database brings the
  row along, but not the OID.

Each process reads it once, on its first cache or Redis key. While the table
cannot be read (not migrated yet, database down) the process uses a private
namespace of its own and asks again a few seconds later: nothing it caches
meanwhile is shared or outlives it.
"""

import hashlib
import logging
import secrets
import threading
import time

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

# After the database could not be asked, use the private namespace this long.
RETRY_SECONDS = 5.0

_lock = threading.Lock()
_memo: str | None = None
_private = secrets.token_hex(6)
_retry_at = 0.0


def key_namespace() -> str:
    """This database's namespace, read once per process."""
    if _memo is not None:
        return _memo
    return _load()


def key_namespace_known() -> bool:
    """Whether this process has read the namespace (``key_namespace`` runs no
    query): the event loop, where no query may run, asks first."""
    return _memo is not None


def key_namespace_forget() -> None:
    """Read the namespace again on next use (tests that recreate the row)."""
    global _memo, _retry_at
    with _lock:
        _memo = None
        _retry_at = 0.0


def cache_key(key: str, key_prefix: str, version: int) -> str:
    """Django's cache ``KEY_FUNCTION``: the namespace in front of the default layout."""
    return f"{key_namespace()}:{key_prefix}:{version}:{key}"


def _load() -> str:
    global _memo, _retry_at
    with _lock:
        if _memo is not None:
            return _memo
        if time.monotonic() < _retry_at:
            return _private
        # A row created inside a caller's transaction may still be rolled back:
        # use it, but remember only a committed one.
        outer_transaction = connection.in_atomic_block
        try:
            namespace, created = _read()
        except DatabaseError as exc:
            _retry_at = time.monotonic() + RETRY_SECONDS
            logger.warning(
                "Redis key namespace unreadable, keys stay private to this "
                "process for now: %s",
                type(exc).__name__,
            )
            return _private
        if not (created and outer_transaction):
            _memo = namespace
        return namespace


def _read() -> tuple[str, bool]:
    # Imported late: this module is the caches' KEY_FUNCTION, which Django may
    # load before the apps (and their models) are.
    from couponsite.models import KeyNamespace

    with transaction.atomic():  # a savepoint: a missing table spoils no transaction
        row = KeyNamespace.objects.filter(pk=1).first()
        created = row is None
        if created:
            KeyNamespace.objects.bulk_create(
                [KeyNamespace(id=1)], ignore_conflicts=True
            )
            row = KeyNamespace.objects.get(pk=1)
        seed = f"{row.value}:{_database_oid()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12], created


def _database_oid() -> str:
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        return str(cursor.fetchone()[0])
