"""End to end: two gunicorn workers without Redis (the embedded default's caches),
and a token revoked elsewhere is refused by both on the next request."""

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection

from couponsite.testing.live_server import gunicorn
from customers.services import token_create, token_revoke

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
    settings = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}"
            f"@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
        ),
        "REDIS_URL": "",
        "WEB_CONCURRENCY": "2",
        "CONN_MAX_AGE": "0",
    }
    with gunicorn(env, start_within=30) as (base, _):
        yield base


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
