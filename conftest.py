"""Project-wide fixtures; the service switch that turns a missing Postgres or Redis
from a skip into a failure (``COUPONSITE_REQUIRE_SERVICES=1``)."""

import contextlib
import logging
import os
import socket

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from rest_framework.test import APIClient

from couponsite import sms
from couponsite.api.throttling import local_windows
from couponsite.localcache import local_clear
from couponsite.namespace import key_namespace, key_namespace_forget
from couponsite.redis_client import REDIS_ERRORS, get_redis, redis_flush
from couponsite.testing.proxy import HAPROXY, NGINX, PGBOUNCER

REQUIRE_SERVICES = os.environ.get("COUPONSITE_REQUIRE_SERVICES") == "1"
# Browser tests drive Debian's Chromium through Playwright (no browser download).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _redis_answers() -> bool:
    redis = get_redis()
    if redis is None:
        return False
    try:
        return bool(redis.ping())
    except REDIS_ERRORS:
        return False


def pytest_collection_modifyitems(config, items):
    available = {
        "postgres": connection.vendor == "postgresql",
        "redis": _redis_answers(),
        "browser": os.access(CHROMIUM, os.X_OK),
        # Debian's nginx, haproxy and pgbouncer packages (our own processes:
        # testing/proxy.py).
        "nginx": os.access(NGINX, os.X_OK),
        "haproxy": os.access(HAPROXY, os.X_OK),
        "pgbouncer": os.access(PGBOUNCER, os.X_OK),
    }
    missing = [name for name, ok in available.items() if not ok]
    if REQUIRE_SERVICES and missing:
        raise pytest.UsageError(
            f"COUPONSITE_REQUIRE_SERVICES=1 but {', '.join(missing)} is not available "
            f"(DATABASE_URL={settings.DATABASES['default']['ENGINE']}, "
            f"REDIS_URL={settings.REDIS_URL or 'unset'})"
        )
    for item in items:
        for name in missing:
            if name in item.keywords:
                item.add_marker(
                    pytest.mark.skip(reason=f"no {name} configured or answering")
                )


@pytest.fixture(scope="session", autouse=True)
def _key_namespace(django_db_setup, django_db_blocker):
    """Read the test database's Redis key namespace once, as a process does, so
    tests without database access can build keys too."""
    with django_db_blocker.unblock():
        key_namespace_forget()
        key_namespace()


@pytest.fixture(autouse=True)
def _isolated_services(settings):
    """Each test starts with an empty outbox, cache and test Redis database."""
    settings.SMS_BACKEND = "locmem"
    # Tests travel in time (to 2027 and beyond) with tokens made today: let tokens
    # outlive the travel. Tests about token lifetimes set the lifetime they test.
    settings.TOKEN_TTL_SECONDS = settings.STAFF_TOKEN_TTL_SECONDS = 10 * 365 * 86400
    # No collectstatic in tests: serve static names as they are, without a manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }
    sms.outbox.clear()
    redis = get_redis()
    if redis is not None:
        with contextlib.suppress(REDIS_ERRORS):
            redis_flush(redis)
    cache.clear()
    local_clear()
    local_windows.clear()
    yield
    sms.outbox.clear()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in LANGUAGE_CODE: a request's language stays active in
    its thread after the answer (LocaleMiddleware activates, never deactivates)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def log_records():
    """``log_records(name)``: the list of records that logger emits from then on
    in the test, at WARNING and above (pytest's own log capture is off)."""
    attached: list[tuple[logging.Logger, _Collect, int]] = []

    def collect(name: str) -> list[logging.LogRecord]:
        logger = logging.getLogger(name)
        handler = _Collect()
        attached.append((logger, handler, logger.level))
        logger.setLevel(logging.WARNING)
        logger.addHandler(handler)
        return handler.records

    yield collect
    for logger, handler, level in attached:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def customer(db):
    from customers.tests.factories import CustomerFactory

    return CustomerFactory()


@pytest.fixture
def customer_client(customer) -> APIClient:
    from customers.services import token_create

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    client.customer = customer
    return client


@pytest.fixture
def staff_user(db):
    from customers.services import staff_user_get_or_create

    return staff_user_get_or_create(username="checkout")


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    from customers.services import token_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=staff_user).key}")
    client.user = staff_user
    return client


@pytest.fixture
def redis_down(settings):
    """Point Redis at a local port where nothing listens: a real refused connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    yield url
    caches["default"].close()


@pytest.fixture
def browser_page(live_server):
    """A fresh headless Chromium page; ``page.sent`` lists the URL of every request
    that went to the network (a request the page's Content-Security-Policy
    blocks is never sent, and is not there).

    Playwright's sync API runs an event loop in this thread, which makes Django
    refuse database calls here unless told that this thread is not async code.
    """
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page()
            page.sent = []

            def send(route):
                page.sent.append(route.request.url)
                route.continue_()

            page.route("**/*", send)
            yield page
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def screenshots(tmp_path):
    """Where a browser test keeps its screenshots: docs/back-office/ (which
    docs/back-office.md shows) with ``COUPONSITE_SCREENSHOTS=1``, else the
    test's temporary folder, so a test run leaves the checkout as it was."""
    from pathlib import Path

    if os.environ.get("COUPONSITE_SCREENSHOTS"):
        folder = Path(settings.BASE_DIR) / "docs" / "back-office"
    else:
        folder = tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def thin_path(settings):
    """A thin-path test: Redis is needed (skipped without it), and the path's
    per-process state (loop Redis, refresh thread, Redis-failure pause) starts
    and ends fresh."""
    from couponsite.server import thin
    from webhooks.subscriptions import subscribed_types

    if not settings.REDIS_URL:
        pytest.skip("the thin path needs Redis")
    thin.reset()
    # This process knows no endpoint subscribes (as after Django served a
    # request a moment ago): the thin routes take what they take without webhooks.
    subscribed_types(reload=True)
    yield
    thin.reset()


@pytest.fixture
def thin_single_node(settings):
    """A thin route that steps aside on a Redis Cluster (claims and
    redemptions: their gates' bodies read keys of two slots in one decision,
    docs/architecture.md): its thin-path tests are skipped there."""
    if settings.REDIS_CLUSTER:
        pytest.skip("this thin route steps aside on a Redis Cluster")


@pytest.fixture
def committer_unreachable(monkeypatch):
    """The group committer's database cannot be reached (a closed port):
    every batch fails with ``GroupCommitFailed``."""
    from couponsite.group_commit import committer

    params = committer.connection_params
    monkeypatch.setattr(
        committer,
        "connection_params",
        lambda: {**params(), "port": 1, "connect_timeout": 2},
    )
