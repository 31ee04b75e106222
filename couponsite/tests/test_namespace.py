"""Redis keys carry the database's namespace: a reset database meets none of the old keys."""

import datetime as dt
import logging

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from redis.crc import key_slot

from couponsite import namespace
from couponsite.api.exceptions import RateLimited
from couponsite.api.throttling import check_rate_limits
from couponsite.models import KeyNamespace
from couponsite.namespace import key_namespace, key_namespace_forget
from couponsite.redis_client import get_redis, redis_key
from draws.claim import services as claim_services
from draws.claim.services import SoldOut, claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.daily_marks import done_today, remember_done_today
from draws.rush.services import RushKeys

DAY = dt.date(2030, 1, 2)


@pytest.fixture
def fresh_namespace(monkeypatch):
    """Let the test read the namespace anew; the process's memo comes back after it."""
    monkeypatch.setattr(namespace, "_memo", None)
    monkeypatch.setattr(namespace, "_retry_at", 0.0)


def _reset_database() -> None:
    """What a reset or recreated database looks like from here: another namespace row,
    met by a process that has not read it yet."""
    KeyNamespace.objects.all().delete()
    key_namespace_forget()


def test_every_key_starts_with_the_namespace_and_keeps_its_hash_tag():
    ns = key_namespace()
    keys = RushKeys(12, DAY)

    assert len(ns) == 12
    assert cache.make_key("token:abc").startswith(f"{ns}:")
    assert keys.stock == f"{ns}:rush:{{12:20300102}}:stock"
    assert claim_services._sold_out_key(7) == f"{ns}:claim:{{7}}:sold_out"
    assert redis_key("rl", "draw_ip", "::1") == f"{ns}:rl:draw_ip:::1"
    # Redis Cluster: the tag alone decides the slot, so the scripts stay in one.
    assert {key_slot(key.encode()) for key in keys.grab()} == {
        key_slot(b"{12:20300102}")
    }
    assert key_slot(claim_services._generation_key(7).encode()) == key_slot(
        claim_services._sold_out_key(7).encode()
    )


@pytest.mark.redis
@pytest.mark.django_db
def test_a_reset_database_meets_none_of_the_old_keys(fresh_namespace, settings):
    # given: a pool flagged sold out, a "drew today" mark, a spent rate limit and
    # a loaded rush day, all written for the database as it was
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "unit_ip": "1/hour"}
    campaign = claim_campaign(released=1)
    first, second, third = make_customers(3)
    claim_take(campaign=campaign, customer=first)
    with pytest.raises(SoldOut):
        claim_take(campaign=campaign, customer=second)
    now = timezone.now()
    mark = {"action": "drew", "campaign": campaign, "customer_id": third.pk}
    remember_done_today(**mark, day=now.date(), now=now)
    check_rate_limits([("unit_ip", "192.0.2.9")])
    get_redis().set(RushKeys(campaign.pk, DAY).ready, 1)
    old_namespace = key_namespace()
    assert claim_services._PoolState.read(campaign.pk, now).sold_out

    # when: the database is reset (the same ids will come back)
    _reset_database()

    # then: nothing written before is honoured
    assert key_namespace() != old_namespace
    assert KeyNamespace.objects.count() == 1  # written anew when missing
    assert not claim_services._PoolState.read(campaign.pk, now).sold_out
    assert not done_today(**mark, day=now.date())
    check_rate_limits([("unit_ip", "192.0.2.9")])  # not refused
    assert not get_redis().exists(RushKeys(campaign.pk, DAY).ready)


@pytest.mark.django_db
def test_without_redis_the_local_cache_forgets_the_old_database_too(
    fresh_namespace, settings
):
    settings.REDIS_URL = ""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "unit_ip": "1/hour"}
    check_rate_limits([("unit_ip", "192.0.2.10")])
    with pytest.raises(RateLimited):
        check_rate_limits([("unit_ip", "192.0.2.10")])

    _reset_database()

    check_rate_limits([("unit_ip", "192.0.2.10")])  # not refused


@pytest.mark.django_db
def test_the_namespace_is_read_once_per_process(
    fresh_namespace, django_assert_num_queries
):
    first = key_namespace()

    with django_assert_num_queries(0):
        again = [key_namespace() for _ in range(3)]

    assert again == [first] * 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_unmigrated_database_gets_a_private_namespace_and_no_broken_transaction(
    fresh_namespace, log_records
):
    # given: the table is not there yet (as during migrate)
    with connection.schema_editor() as editor:
        editor.delete_model(KeyNamespace)
    records = log_records("couponsite.namespace")

    # when
    private = key_namespace()
    private_again = key_namespace()  # no query until a few seconds later

    # then: a namespace of this process alone, and the caller's transaction lives on
    assert private == private_again == namespace._private
    assert [r.levelno for r in records] == [logging.WARNING]
    assert not records[0].exc_info
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    # and once migrated, the database's own namespace is read
    with connection.schema_editor() as editor:
        editor.create_model(KeyNamespace)
    key_namespace_forget()
    assert key_namespace() not in (private, None)
    assert KeyNamespace.objects.count() == 1
