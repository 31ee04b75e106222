"""The raw Redis connection behind the cache, for scripts and counters.

Redis is optional (the embedded mode has none) and may be down: callers get
``None`` when it is not configured and must treat ``REDIS_ERRORS`` as "answer
from Postgres instead".
"""

from django.conf import settings
from django_redis import get_redis_connection
from redis import Redis
from redis.exceptions import RedisError

from couponsite.namespace import key_namespace

REDIS_ERRORS = (RedisError, OSError)


def get_redis() -> Redis | None:
    if not settings.REDIS_URL:
        return None
    return get_redis_connection("default")


def redis_key(*parts: object) -> str:
    """A raw Redis key: this database's namespace, then the parts, joined by ":".

    The namespace goes first and holds no braces, so a part's ``{hash tag}`` alone
    decides the Redis Cluster slot: keys that share a tag share a slot, whatever
    the namespace.
    """
    return ":".join([key_namespace(), *map(str, parts)])
