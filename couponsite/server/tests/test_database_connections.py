"""End to end on Postgres: Django's connections are per thread, and the threads
are a fixed pool, so however many clients come, a server holds at most
workers x threads connections (CONN_MAX_AGE keeps them; nothing leaks past
Postgres's max_connections)."""

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from couponsite.testing.live_server import gunicorn

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),
]


# The server's connections carry this name; the test's own do not.
APPLICATION_NAME = "couponsite-server-test"


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as response:
        json.loads(response.read())
        return response.status


def test_connections_stay_within_workers_times_threads():
    settings = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}"
            f"@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
            f"?application_name={APPLICATION_NAME}"
        ),
        "REDIS_URL": "",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "3",
        "CONN_MAX_AGE": "60",
    }
    most = 0
    done = threading.Event()

    def watch():
        nonlocal most
        try:
            while not done.is_set():
                most = max(most, _server_connections())
                time.sleep(0.02)
        finally:
            connection.close()  # this thread's own

    with gunicorn(env) as (base, _):
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            # given 40 clients at once, 400 requests that each read the database
            with ThreadPoolExecutor(40) as clients:
                statuses = list(
                    clients.map(lambda _: _get(f"{base}/api/v1/campaigns"), range(400))
                )
        finally:
            done.set()
            watcher.join()
        kept = _server_connections()

    # then every one is answered, over at most 2 x 3 connections, which stay open
    assert statuses == [200] * 400
    assert 1 <= most <= 6
    assert 1 <= kept <= 6
