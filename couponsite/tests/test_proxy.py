"""Through a real nginx (deploy/nginx/couponsite.conf.template) and a real
HAProxy (deploy/haproxy/couponsite.cfg.template) in front of gunicorn: the app keys its per-address rate limits on the client's address the
proxy reports, and believes ``X-Forwarded-For`` only from the proxy.

Clients on loopback come from addresses of their own (127.0.0.2, 127.0.0.3, ...:
Linux answers the whole 127.0.0.0/8 on ``lo``); nginx reaches gunicorn from
127.0.0.1, the one trusted proxy (``TRUSTED_PROXIES``).
"""

import http.client
import json
import os
from urllib.parse import urlsplit

import pytest
from django.db import connection

from couponsite.testing.live_server import gunicorn
from couponsite.testing.proxy import HAProxy, Nginx

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

LIMIT = 2


def _post_token(base_url: str, source: str, forwarded: str | None = None) -> int:
    """POST /api/v1/auth/token (a wrong code) from ``source``; the status."""
    parts = urlsplit(base_url)
    client = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=10, source_address=(source, 0)
    )
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    body = json.dumps({"phone": "+14155550123", "code": "000000"})
    try:
        client.request("POST", "/api/v1/auth/token", body=body, headers=headers)
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


@pytest.fixture(
    params=[
        pytest.param("nginx", marks=pytest.mark.nginx),
        pytest.param("haproxy", marks=pytest.mark.haproxy),
    ]
)
def proxied(request):
    """(the proxy's URL, gunicorn's URL): gunicorn on the test database, trusting
    127.0.0.1 only, with ``LIMIT`` token attempts an hour per address."""
    settings = connection.settings_dict
    env = {
        "DATABASE_URL": (
            f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}"
            f"@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
        ),
        "REDIS_URL": os.environ["REDIS_URL"],
        "WEB_CONCURRENCY": "1",
        "CONN_MAX_AGE": "0",
        "TRUSTED_PROXIES": "127.0.0.1",
        "RATE_LIMIT_TOKEN_IP": f"{LIMIT}/hour",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    with (
        gunicorn(env, start_within=30) as (upstream, _),
        (
            Nginx([urlsplit(upstream).port], worker_processes=1)
            if request.param == "nginx"
            else HAProxy([urlsplit(upstream).port], threads=1)
        ) as proxy,
    ):
        yield proxy.base_url, upstream


def _statuses(base_url: str, source: str, count: int, forwarded=None) -> list[int]:
    return [
        _post_token(base_url, source, forwarded(i) if forwarded else None)
        for i in range(count)
    ]


def test_clients_behind_the_proxy_have_limits_of_their_own(proxied):
    proxy, _ = proxied

    first = _statuses(proxy, "127.0.0.2", LIMIT + 1)
    second = _statuses(proxy, "127.0.0.3", LIMIT + 1)

    # Each client is allowed LIMIT tries (a wrong code is a 4xx, not a 429), then
    # refused; the second is not refused for the first's tries, although both
    # reach gunicorn from nginx's one address.
    assert 429 not in first[:LIMIT] and first[LIMIT] == 429
    assert 429 not in second[:LIMIT] and second[LIMIT] == 429


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(proxied):
    proxy, upstream = proxied

    def forged(i):
        return f"198.51.100.{i + 1}"

    # Through the proxy: it replaces the header with the peer's address.
    through_proxy = _statuses(proxy, "127.0.0.4", LIMIT + 1, forged)
    # Straight to gunicorn from an address that is no trusted proxy: ignored.
    direct = _statuses(upstream, "127.0.0.5", LIMIT + 1, forged)

    assert 429 not in through_proxy[:LIMIT] and through_proxy[LIMIT] == 429
    assert 429 not in direct[:LIMIT] and direct[LIMIT] == 429


def test_the_proxy_passes_the_trusted_header_from_loopback_itself(proxied):
    """The trusted address (127.0.0.1) straight to gunicorn may name the client:
    that is what nginx does, so the app's trust list is what decides."""
    _, upstream = proxied

    named = [
        _post_token(upstream, "127.0.0.1", f"198.51.100.{i + 1}")
        for i in range(LIMIT + 1)
    ]

    assert 429 not in named  # three different clients, one try each
