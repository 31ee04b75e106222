"""The thin path's Redis on a Redis Cluster (``ClusterLoopRedis``), against the
local cluster (``scripts/test-redis-cluster``)."""

import asyncio
import hashlib

import pytest
from django.conf import settings

from couponsite.redis_client import get_redis
from couponsite.redis_cluster import key_slot
from couponsite.server.loop_cluster import ClusterLoopRedis
from couponsite.server.loop_redis import RedisReplyError

pytestmark = pytest.mark.redis

SOURCE = b"return {ARGV[1], redis.call('INCR', KEYS[1])}"
SHA = hashlib.sha1(SOURCE).hexdigest().encode()


@pytest.fixture
def url():
    if not (settings.REDIS_URL and settings.REDIS_CLUSTER):
        pytest.skip("needs REDIS_CLUSTER=1 (scripts/test-redis-cluster)")
    return settings.REDIS_URL


def _keys() -> list[str]:
    """One key on each master (different slots, hence different nodes)."""
    cluster = get_redis()
    keys, masters = [], set()
    for n in range(200):
        key = f"test:loop-cluster:{n}"
        node = cluster.get_node_from_key(key)
        if node.name not in masters:
            masters.add(node.name)
            keys.append(key)
    assert len(keys) == 3
    return keys


def test_each_command_goes_to_the_master_of_its_key(url):
    keys = _keys()

    async def main():
        redis = ClusterLoopRedis(url, timeout=2)
        try:
            replies = await asyncio.gather(
                *(redis.evalsha(SHA, SOURCE, [key], [key]) for key in keys * 5)
            )
            await redis.set(keys[0] + ":set", "v", ex=60)
            got = await redis.get(keys[0] + ":set")
            return replies, got, len(redis.nodes)
        finally:
            redis.close()

    replies, got, nodes = asyncio.run(main())
    assert got == b"v" and nodes == 3
    for key in keys:  # each key's five, in order, on its own master
        assert [n for k, n in replies if k == key.encode()] == [1, 2, 3, 4, 5]
    cluster = get_redis()
    assert [int(cluster.get(key)) for key in keys] == [5, 5, 5]
    for key in [*keys, keys[0] + ":set"]:
        cluster.delete(key)


def test_a_stale_map_raises_moved_and_is_read_again(url):
    key = _keys()[0]

    async def main():
        redis = ClusterLoopRedis(url, timeout=2)
        try:
            await redis.get(key)
            right = redis.table[key_slot(key)]
            wrong = next(a for a in set(redis.table) if a != right)
            redis.table = [wrong] * len(redis.table)
            with pytest.raises(RedisReplyError, match="MOVED"):
                await redis.get(key)
            while redis.table is None or redis.refreshing is not None:
                await asyncio.sleep(0.01)
            assert redis.table[key_slot(key)] == right
            return await redis.evalsha(SHA, SOURCE, [key], ["again"])
        finally:
            redis.close()

    assert asyncio.run(main())[0] == b"again"
    get_redis().delete(key)


def test_no_node_answering_is_a_connection_error(url):
    async def main():
        redis = ClusterLoopRedis("redis://127.0.0.1:1/0", timeout=1)
        try:
            with pytest.raises(ConnectionError):
                await redis.get("anything")
        finally:
            redis.close()

    asyncio.run(main())
