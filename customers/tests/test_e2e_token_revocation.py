"""End to end: two gunicorn workers without Redis (the embedded default's caches),
and a token revoked elsewhere is refused by both on the next request."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from customers.services import token_create, token_revoke

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def two_workers_without_redis():
    """gunicorn with 2 workers on the test database, no REDIS_URL: each worker
    has only its own local-memory cache."""
    port = _free_port()
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}"
            f"@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
        ),
        "REDIS_URL": "",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "couponsite.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(20)


def test_a_revoked_token_is_refused_by_every_worker(
    two_workers_without_redis, customer
):
    token = token_create(customer=customer)
    url = f"{two_workers_without_redis}/api/v1/me"
    before = [_get(url, token.key)[0] for _ in range(20)]  # the workers have seen it

    token_revoke(token=token)  # in this process: no worker hears of it
    after = [_get(url, token.key) for _ in range(20)]

    assert before == [200] * 20
    assert [status for status, _ in after] == [401] * 20
    assert {body["code"] for _, body in after} == {"INVALID_TOKEN"}
