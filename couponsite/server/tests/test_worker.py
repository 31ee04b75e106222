"""End to end: what gunicorn's worker (couponsite.server.worker) keeps from the
sync worker and what the front in front of Django guarantees, on a small WSGI
app (echo_app) wrapped as Django is."""

import http.client
import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from couponsite.testing.live_server import gunicorn

pytestmark = pytest.mark.timeout(120)

ECHO = "couponsite.server.tests.echo_app"


def _request(base, method, path, *, body=None, headers=None, timeout=15):
    """(status, headers, body bytes)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _get_json(base, path, **kwargs):
    status, headers, body = _request(base, "GET", path, **kwargs)
    return status, headers, json.loads(body)


@pytest.fixture(scope="module")
def echo():
    env = {
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "GUNICORN_TIMEOUT": "3",
        "REQUEST_MAX_BODY_BYTES": "1000",
    }
    with gunicorn(env, ECHO) as (base, _):
        yield base


def test_the_client_address_is_the_peer_whatever_x_forwarded_for_says(echo):
    # given a client on loopback that claims to forward for someone else
    headers = {"X-Forwarded-For": "203.0.113.9", "X_Forwarded_For": "198.51.100.1"}

    status, _, seen = _get_json(echo, "/echo", headers=headers)

    # then the app sees the peer (TRUSTED_PROXIES decides what to believe), the
    # header as sent, and no header that would pass for it through an underscore
    assert status == 200
    assert seen["remote_addr"] == "127.0.0.1"
    assert seen["headers"]["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"


def test_a_chunked_body_reaches_the_app_whole_with_its_length(echo):
    chunks = [b"a" * 300, b"b" * 200]

    # http.client sends an iterable body chunked
    status, _, body = _request(echo, "POST", "/echo", body=iter(chunks))

    assert status == 200
    assert json.loads(body)["body_length"] == 500


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_refused_413(echo, chunked):
    body = b"x" * 1001
    if chunked:
        status, headers, answer = _request(echo, "POST", "/echo", body=iter([body]))
    else:
        status, headers, answer = _request(echo, "POST", "/echo", body=body)

    assert status == 413
    assert json.loads(answer)["code"] == "REQUEST_TOO_LARGE"
    assert headers["connection"] == "close"


def test_a_body_that_stops_arriving_is_answered_408_at_the_timeout(echo):
    port = urlsplit(echo).port
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        # given a POST whose body stops after 10 of its 100 bytes
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"
        )
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        waited = time.monotonic() - started

    # then after the timeout (3 s) it is answered 408 and closed
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"REQUEST_TIMEOUT"' in answer
    assert 2.5 < waited < 10


def test_a_long_answer_is_streamed_whole_and_a_short_one_has_its_length(echo):
    status, headers, body = _request(echo, "GET", "/big?bytes=10000000")
    assert status == 200
    assert len(body) == 10_000_000

    status, headers, body = _request(echo, "GET", "/big?bytes=1000")
    assert status == 200
    assert headers["content-length"] == "1000"
    assert len(body) == 1000


def test_django_runs_in_at_most_threads_threads_per_worker(echo):
    # given 6 requests at once on a worker with 2 threads
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda _: _get_json(echo, "/sleep?seconds=0.5"), range(6))
        )

    # then all are answered, never more than 2 running at a time
    assert [status for status, _, _ in answers] == [200] * 6
    assert max(seen["most_running"] for _, _, seen in answers) == 2


def test_a_request_over_the_timeout_ends_its_worker_and_a_new_one_serves():
    env = {"WEB_CONCURRENCY": "1", "GUNICORN_TIMEOUT": "2", "LOG_LEVEL": "CRITICAL"}
    with gunicorn(env, ECHO) as (base, _):
        _, headers, _ = _get_json(base, "/sleep?seconds=1")  # under the timeout
        first = headers["x-pid"]
        _, headers, _ = _get_json(base, "/echo")
        assert headers["x-pid"] == first  # a request under the timeout kills nothing

        started = time.monotonic()
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            _request(base, "GET", "/sleep?seconds=60")
        killed_after = time.monotonic() - started

        status, headers, _ = _get_json(base, "/echo", timeout=30)
        assert status == 200
        assert headers["x-pid"] != first
    assert 1.5 < killed_after < 10


def test_max_requests_recycles_the_worker():
    env = {"WEB_CONCURRENCY": "1", "GUNICORN_MAX_REQUESTS": "3"}
    answers = []
    with gunicorn(env, ECHO) as (base, _):
        for _ in range(30):  # the worker looks at its count every tenth of a second
            answers.append(_get_json(base, "/echo", timeout=30))
            if len({headers["x-pid"] for _, headers, _ in answers}) > 1:
                break
            time.sleep(0.2)

    assert {status for status, _, _ in answers} == {200}
    assert len({headers["x-pid"] for _, headers, _ in answers}) == 2
    assert len(answers) <= 6


def test_a_graceful_shutdown_lets_a_running_request_finish():
    env = {"WEB_CONCURRENCY": "1"}
    with gunicorn(env, ECHO) as (base, server):
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(_get_json, base, "/sleep?seconds=2")
            time.sleep(0.7)
            os.kill(server.pid, signal.SIGTERM)
            status, _, _ = running.result(timeout=30)
        assert server.wait(30) == 0
    assert status == 200


def test_connections_do_not_wait_for_each_other(echo):
    """A sanity check of the event loop: a slow request does not delay a quick one."""
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(_get_json, echo, "/sleep?seconds=1.5")
        time.sleep(0.2)
        started = time.monotonic()
        status, _, _ = _get_json(echo, "/echo")
        quick = time.monotonic() - started
        assert slow.result(timeout=30)[0] == 200
    assert status == 200
    assert quick < 1.0
