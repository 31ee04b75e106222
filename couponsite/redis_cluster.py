"""Redis Cluster (``REDIS_CLUSTER=1``): redis-py's own cluster client behind the
cache and ``get_redis``.

``REDIS_URL`` then names one node of the cluster (any: the client asks it for
the others and for which node serves which slot, and follows ``MOVED``/``ASK``
when slots move). django-redis 7 has no cluster client of its own; it takes a
connection factory and a client class, which are these:

- ``ClusterConnectionFactory`` hands every django-redis client of this process
  one ``RedisCluster`` per URL (it keeps a connection pool per node and is
  thread-safe, so it is shared as django-redis shares its pools). A cluster no
  node of which answers is ``ConnectionInterrupted``, which the cache ignores as
  it ignores a single Redis that is down.
- ``ClusterCacheClient`` reads many keys slot by slot (``MGET`` across slots is
  refused by a cluster).

What must stay atomic lives in one slot: keys one script or pipeline touches
share a ``{hash tag}`` (``couponsite.redis_client.redis_key`` puts the namespace
first, without braces, so the tag alone decides the slot). ``key_slot`` is the
cluster's slot of a key, for tests that check it.
"""

import threading
from typing import Any

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.cluster import RedisCluster
from redis.crc import key_slot as _key_slot
from redis.exceptions import RedisClusterException, RedisError

_lock = threading.Lock()
_clients: dict[tuple[str, float | None, float | None], RedisCluster] = {}


def cluster_client(
    url: str,
    *,
    socket_timeout: float | None = None,
    socket_connect_timeout: float | None = None,
) -> RedisCluster:
    """This process's ``RedisCluster`` for ``url`` (made on first use).

    Raises ``RedisClusterException`` (or a ``RedisError``) when no node answers;
    the next call tries again.
    """
    key = (url, socket_timeout, socket_connect_timeout)
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = RedisCluster.from_url(
                url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_connect_timeout,
            )
    return client


def key_slot(key: str | bytes) -> int:
    """The cluster slot of a key (its ``{hash tag}`` if it has one)."""
    return _key_slot(key.encode() if isinstance(key, str) else key)


class ClusterConnectionFactory(ConnectionFactory):
    """django-redis's ``CONNECTION_FACTORY`` for a cluster (see the module)."""

    def connect(self, url: str) -> Any:
        params = self.make_connection_params(url)
        try:
            return cluster_client(
                url,
                socket_timeout=params.get("socket_timeout"),
                socket_connect_timeout=params.get("socket_connect_timeout"),
            )
        except (RedisClusterException, RedisError, OSError) as exc:
            raise ConnectionInterrupted(connection=None) from exc

    def disconnect(self, connection: Any) -> None:
        # Shared by every cache client of the process, as a pool is: kept open.
        return None


class ClusterCacheClient(DefaultClient):
    """django-redis's ``CLIENT_CLASS`` for a cluster: ``get_many`` slot by slot."""

    def get_many(self, keys, version=None, client=None) -> dict:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        map_keys = {self.make_key(key, version=version): key for key in keys}
        try:
            values = client.mget_nonatomic(list(map_keys))
        except (RedisError, OSError) as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {
            map_keys[key]: self.decode(value)
            for key, value in zip(map_keys, values, strict=True)
            if value is not None
        }
