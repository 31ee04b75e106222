"""Retention: each kind of record purged after its setting, in bounded batches,
by the schedule's jobs and by ``manage.py purge_expired`` (SQLite and Postgres)."""

import datetime as dt
import importlib
import io
import math
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from couponsite.api.idempotency import idempotency_keys_purge
from couponsite.models import IdempotencyKey
from couponsite.retention import PURGES, purge_in_batches
from customers.models import Customer, EmailVerification, OneTimeCode
from webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db


def _keys(count: int, *, age: dt.timedelta, start: int = 0) -> None:
    at = timezone.now() - age
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(
            owner="c:1",
            endpoint="/x",
            key=f"k{start + n}",
            request_hash="h",
            created_at=at,
            updated_at=at,
        )
        for n in range(count)
    )


def _deletes_from(queries, table: str) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].upper().startswith(f'DELETE FROM "{table}"'.upper())
    )


def _purged(kind: str) -> float:
    """What the scrape shows of ``couponsite_retention_purged_total{kind}``."""
    return (
        REGISTRY.get_sample_value("couponsite_retention_purged_total", {"kind": kind})
        or 0.0
    )


def test_idempotency_keys_stay_their_retention_then_go(settings):
    settings.RETENTION_IDEMPOTENCY = dt.timedelta(hours=48)
    _keys(2, age=dt.timedelta(hours=49))
    # Past the 24 h replay window, but not past the retention: kept.
    _keys(2, age=dt.timedelta(hours=30), start=10)
    _keys(1, age=dt.timedelta(minutes=1), start=20)
    before = _purged("idempotency_keys")

    assert idempotency_keys_purge() == 2

    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {
        "k10",
        "k11",
        "k20",
    }
    assert _purged("idempotency_keys") == before + 2


def test_idempotency_keys_are_never_purged_inside_the_replay_window(settings):
    # A retention shorter than the promise (settings refuse it at start-up) is
    # stretched to the replay window all the same.
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
    settings.RETENTION_IDEMPOTENCY = dt.timedelta(hours=1)
    _keys(1, age=dt.timedelta(hours=23))
    _keys(1, age=dt.timedelta(hours=25), start=1)

    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["k0"]


def _settings_with(monkeypatch, **env: str) -> SimpleNamespace:
    """The settings these environment variables make (the module read again,
    then as it was)."""
    import couponsite.settings as project_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        return SimpleNamespace(**vars(importlib.reload(project_settings)))
    finally:
        monkeypatch.undo()
        importlib.reload(project_settings)


def test_the_retention_settings_are_durations_never_shorter_than_the_replay_window(
    monkeypatch,
):
    day = str(86400)
    with pytest.raises(ImproperlyConfigured, match="RETENTION_IDEMPOTENCY"):
        _settings_with(
            monkeypatch, IDEMPOTENCY_KEY_TTL_SECONDS=day, RETENTION_IDEMPOTENCY="23h"
        )
    with pytest.raises(ImproperlyConfigured, match="RETENTION_SIGNIN_CODES"):
        _settings_with(monkeypatch, RETENTION_SIGNIN_CODES="soon")

    read = _settings_with(
        monkeypatch,
        RETENTION_SIGNIN_CODES="90d",
        RETENTION_IDEMPOTENCY="1d",
        RETENTION_WEBHOOK_DELIVERIES="3600",
    )
    retentions = (
        read.RETENTION_SIGNIN_CODES,
        read.RETENTION_IDEMPOTENCY,
        read.RETENTION_WEBHOOK_DELIVERIES,
    )
    assert retentions == (
        dt.timedelta(days=90),
        dt.timedelta(days=1),
        dt.timedelta(hours=1),
    )
    # Unset, it follows the replay window: a day longer.
    longer = _settings_with(monkeypatch, IDEMPOTENCY_KEY_TTL_SECONDS=str(3 * 86400))
    retention = longer.RETENTION_IDEMPOTENCY
    assert retention == dt.timedelta(days=4)


@pytest.mark.parametrize(("rows", "batch"), [(7, 3), (6, 3), (2, 5)])
def test_a_purge_deletes_in_bounded_batches(rows, batch):
    _keys(rows, age=dt.timedelta(days=3))
    _keys(2, age=dt.timedelta(minutes=1), start=100)

    with CaptureQueriesContext(connection) as queries:
        deleted = purge_in_batches(
            IdempotencyKey.objects.filter(
                created_at__lt=timezone.now() - dt.timedelta(days=1)
            ),
            kind="idempotency_keys",
            batch_size=batch,
        )

    assert deleted == rows
    assert _deletes_from(queries, "couponsite_idempotencykey") == math.ceil(
        rows / batch
    )
    assert IdempotencyKey.objects.count() == 2


def test_the_batch_size_setting_bounds_each_delete(settings):
    settings.RETENTION_BATCH_SIZE = 4
    _keys(10, age=dt.timedelta(days=3))

    with CaptureQueriesContext(connection) as queries:
        assert idempotency_keys_purge() == 10

    assert _deletes_from(queries, "couponsite_idempotencykey") == 3


def test_purge_expired_runs_every_rooms_purge(settings):
    now = timezone.now()
    old = now - dt.timedelta(days=40)
    _keys(1, age=dt.timedelta(days=3))
    OneTimeCode.objects.create(
        phone="+14155550100", code_hash="x", sent_at=old, expires_at=old
    )
    customer = Customer.objects.create(phone="+14155550101")
    EmailVerification.objects.create(
        customer=customer,
        email="a@example.com",
        code_hash="x",
        sent_at=old,
        expires_at=old,
    )
    endpoint = Endpoint.objects.create(url="https://example.com/hook", events=["x"])
    event = Event.objects.create(type="voucher.redeemed", payload={}, created_at=old)
    Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        status=Delivery.Status.DELIVERED,
        retry_until=old,
        created_at=old,
    )
    assert list(PURGES) == [
        "idempotency_keys",
        "webhook_deliveries",
        "webhook_events",
        "sign_in_codes",
        "email_codes",
        "erased_phone_hashes",
    ]

    out = io.StringIO()
    call_command("purge_expired", stdout=out)

    assert out.getvalue().splitlines() == [
        "idempotency_keys: purged 1",
        "webhook_deliveries: purged 1",
        "webhook_events: purged 1",
        "sign_in_codes: purged 1",
        "email_codes: purged 1",
        "erased_phone_hashes: purged 0",
    ]
    assert not IdempotencyKey.objects.exists()
    assert not OneTimeCode.objects.exists()
    assert not EmailVerification.objects.exists()
    assert not Delivery.objects.exists()
    assert not Event.objects.exists()
    assert Customer.objects.filter(pk=customer.pk).exists()

    out = io.StringIO()
    call_command("purge_expired", "--only", "sign_in_codes", stdout=out)
    assert out.getvalue() == "sign_in_codes: purged 0\n"


def test_the_old_command_still_purges_idempotency_keys():
    _keys(2, age=dt.timedelta(days=3))
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "Deleted 2 expired idempotency keys." in out.getvalue()
    assert not IdempotencyKey.objects.exists()
