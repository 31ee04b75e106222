"""The raw Redis connection behind the cache, for scripts and counters.

Redis is optional (the embedded mode has none) and may be down: callers get
``None`` when it is not configured and must treat ``REDIS_ERRORS`` as "answer
from Postgres instead".
"""

from django.conf import settings
from django_redis import get_redis_connection
from django_redis.exceptions import ConnectionInterrupted
from redis import Redis
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from couponsite.namespace import key_namespace

REDIS_ERRORS = (RedisError, OSError)


class _Unreachable:
    """``get_redis`` on a cluster none of whose nodes answered: every command
    raises ``ConnectionError`` (one of ``REDIS_ERRORS``), as a single Redis that
    is down does; the next ``get_redis`` tries the cluster again."""

    def __init__(self, cause: BaseException | None) -> None:
        self._cause = cause

    def __getattr__(self, name: str):
        def down(*args, **kwargs):
            raise RedisConnectionError(f"Redis Cluster unreachable: {self._cause}")

        return down


def get_redis() -> Redis | RedisCluster | None:
    """The raw client: ``Redis``, or ``RedisCluster`` with ``REDIS_CLUSTER``
    (``couponsite.redis_cluster``); None without ``REDIS_URL``."""
    if not settings.REDIS_URL:
        return None
    try:
        return get_redis_connection("default")
    except ConnectionInterrupted as exc:  # only a cluster's first contact raises
        return _Unreachable(exc.__cause__)


def redis_flush(redis: Redis | RedisCluster) -> None:
    """Empty the Redis database: on a cluster, every master's (``FLUSHDB`` is
    sent to all primaries by ``RedisCluster``)."""
    redis.flushdb()


def redis_key(*parts: object) -> str:
    """A raw Redis key: this database's namespace, then the parts, joined by ":".

    The namespace goes first and holds no braces, so a part's ``{hash tag}`` alone
    decides the Redis Cluster slot: keys that share a tag share a slot, whatever
    the namespace.
    """
    return ":".join([key_namespace(), *map(str, parts)])
