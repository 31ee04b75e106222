"""Redis Cluster: every multi-key script keeps its keys in one slot, the rate
limits split by slot stay all or nothing, and (against a cluster,
``scripts/test-redis-cluster``) the cache, the raw client, the flush and the
scheduler's lock work on every master."""

import datetime as dt
import socket
import time

import pytest
import time_machine
from django.core.cache import cache
from redis.cluster import RedisCluster

from couponsite.api import throttling
from couponsite.api.exceptions import RateLimited
from couponsite.api.throttling import Rate, by_slot, check_rate_limits
from couponsite.redis_client import REDIS_ERRORS, get_redis, redis_flush, redis_key
from couponsite.redis_cluster import key_slot
from draws.claim.services import sold_out_flag_keys
from draws.rush.services import RushKeys

EDGE = dt.datetime(2030, 1, 1, 0, 59, 59, 500_000, tzinfo=dt.UTC)


def _one_slot(keys: list[str]) -> bool:
    return len({key_slot(key) for key in keys}) == 1


@pytest.mark.django_db
def test_each_rush_script_touches_one_slot():
    keys = RushKeys(12, dt.date(2030, 1, 2))

    assert _one_slot(keys.grab())  # grab.lua
    assert _one_slot(keys.settle())  # settle.lua
    assert _one_slot(keys.install("0123abcd"))  # install.lua, with the load's keys
    assert key_slot(keys.ready) == key_slot("{12:20300102}")
    # another day of the same campaign is another tag: days spread over the cluster
    assert "{12:20300103}" in RushKeys(12, dt.date(2030, 1, 3)).ready


@pytest.mark.django_db
def test_a_claim_pools_flag_and_generation_share_one_slot():
    assert _one_slot(list(sold_out_flag_keys(7)))  # one MGET (_PoolState.read)


@pytest.mark.django_db
def test_the_namespace_leaves_the_slot_to_the_tag():
    assert key_slot(redis_key("rush", "{5:20300101}", "stock")) == key_slot(
        "{5:20300101}"
    )


@pytest.mark.django_db
def test_rate_limits_are_grouped_one_slot_per_script_call():
    rate = Rate(1, 60)
    active = [
        (redis_key("rl", "grab_customer", "customer:1"), rate),
        (redis_key("rl", "grab_ip", "192.0.2.1"), rate),
        (redis_key("rl", "grab_customer", "customer:1"), rate),
    ]

    groups = by_slot(active)

    assert all(_one_slot([key for key, _ in group]) for group in groups)
    assert sum(len(group) for group in groups) == 3
    # the customer's and the address's limits lie in different slots here, so
    # the test below really runs the script once per slot
    assert len(groups) == 2


@pytest.mark.redis
@pytest.mark.django_db
def test_split_by_slot_a_refused_hit_still_counts_against_no_limit(
    settings, monkeypatch
):
    # given: the per-slot path (what a cluster runs), on whatever Redis this is
    settings.REDIS_CLUSTER = True
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "unit_customer": "1/hour",
        "unit_ip": "3/hour",
    }
    monkeypatch.setattr(throttling, "clock", time.time, raising=False)
    mine = [("unit_customer", "customer:1"), ("unit_ip", "192.0.2.3")]
    address_first = [mine[1], mine[0]]
    assert len(by_slot([(redis_key("rl", n, i), Rate(1, 1)) for n, i in mine])) == 2

    def allowed(limits) -> bool:
        try:
            check_rate_limits(limits)
        except RateLimited as refused:
            waits.append(refused.retry_after)
            return False
        return True

    waits = []
    with time_machine.travel(EDGE, tick=False):
        assert allowed(mine)
        # when: the customer's limit is spent, twenty more hits of theirs, in
        # either order of the limits (with the address first, its slot counts
        # the hit, the customer's refuses, and the address's hit is taken back)
        refused = [allowed(limits) for limits in [mine, address_first] * 10]
        # then: the address counted one hit of the 21, so it has room for two more
        others = [
            allowed([("unit_customer", f"customer:{n}"), mine[1]]) for n in (2, 3, 4)
        ]

    assert refused == [False] * 20
    assert others == [True, True, False]
    assert set(waits) == {3600}


@pytest.fixture
def unreachable_cluster(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = url
    settings.REDIS_CLUSTER = True
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CLIENT_CLASS": "couponsite.redis_cluster.ClusterCacheClient",
                "CONNECTION_FACTORY": "couponsite.redis_cluster.ClusterConnectionFactory",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    return url


@pytest.mark.django_db
def test_a_cluster_no_node_of_which_answers_is_redis_down(unreachable_cluster):
    # the cache ignores it, as it ignores a single Redis that is down
    cache.set("k", 1)
    assert cache.get("k") is None
    assert cache.get_many(["a", "b"]) == {}
    # raw commands raise what callers catch as "answer from Postgres instead"
    redis = get_redis()
    with pytest.raises(REDIS_ERRORS):
        redis.get("k")
    with pytest.raises(REDIS_ERRORS):
        redis.pipeline(transaction=False)
    # rate limits fail open
    check_rate_limits([("draw_ip", "192.0.2.9")])


# --- against a real cluster (REDIS_CLUSTER=1, scripts/test-redis-cluster) ---------


@pytest.fixture
def cluster(settings):
    if not (settings.REDIS_URL and settings.REDIS_CLUSTER):
        pytest.skip("needs REDIS_CLUSTER=1 (scripts/test-redis-cluster)")
    redis = get_redis()
    assert isinstance(redis, RedisCluster)
    return redis


def _keys_on_every_master(redis: RedisCluster) -> list[str]:
    keys, nodes = [], set()
    masters = {node.name for node in redis.get_primaries()}
    for n in range(1000):
        key = redis_key("test", f"{{spread{n}}}")
        node = redis.get_node_from_key(key).name
        if node not in nodes:
            nodes.add(node)
            keys.append(key)
        if nodes == masters:
            return keys
    raise AssertionError("no key found for some master")


@pytest.mark.redis
@pytest.mark.django_db
def test_on_a_cluster_the_flush_empties_every_master(cluster):
    keys = _keys_on_every_master(cluster)
    assert len(keys) >= 3
    for key in keys:
        cluster.set(key, 1)

    redis_flush(cluster)

    assert cluster.dbsize(target_nodes=RedisCluster.PRIMARIES) == 0


@pytest.mark.redis
@pytest.mark.django_db
def test_on_a_cluster_the_cache_reads_and_writes_many_keys_across_slots(cluster):
    values = {f"many:{n}": n for n in range(20)}
    cache.set_many(values, 60)
    assert len({key_slot(cache.make_key(key)) for key in values}) > 1

    assert cache.get_many(list(values)) == values
    assert cache.incr("many:3") == 4
    cache.delete_many(list(values))
    assert cache.get_many(list(values)) == {}


@pytest.mark.redis
@pytest.mark.django_db
def test_on_a_cluster_the_scheduler_lock_is_taken_on_its_slots_node(cluster):
    from crontask import utils

    with utils.lock as lock:
        assert cluster.get("crontask-lock") is not None
        assert lock.extend(5, True)
        # a second scheduler finds it taken
        other = cluster.lock("crontask-lock", blocking_timeout=0.1)
        assert not other.acquire()
    assert cluster.get("crontask-lock") is None
