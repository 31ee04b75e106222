"""The bridge's pieces in-process: the environ Django sees and the body reader's
limits (the end-to-end behaviour is in test_worker.py)."""

import asyncio

import pytest

from couponsite.server.wsgi import RequestRefused, build_environ, read_body


def _scope(**fields) -> dict:
    return {
        "type": "http",
        "method": "GET",
        "http_version": "1.1",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [],
        **fields,
    }


def test_the_path_reaches_django_as_wsgi_bytes_and_headers_as_cgi_names():
    scope = _scope(
        method="POST",
        path="/café/a/b",
        raw_path=b"/caf%C3%A9/a%2Fb",
        query_string=b"x=1&y=%20",
        headers=[
            (b"host", b"example.org"),
            (b"content-type", b"application/json"),
            (b"content-length", b"999"),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"x_forwarded_for", b"198.51.100.1"),
        ],
    )

    environ = build_environ(scope, b'{"a": 1}')

    # the escaped slash stays distinguishable from a real one only in raw_path;
    # WSGI gives Django the decoded bytes as latin-1, which Django reads as UTF-8
    assert environ["PATH_INFO"] == "/café/a/b".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "x=1&y=%20"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "8"  # the body's true length
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["HTTP_HOST"] == "example.org"
    assert "HTTP_X_FORWARDED_FOR" not in environ
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["wsgi.input"].read() == b'{"a": 1}'


def _receive_from(*messages):
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)  # a client that sends nothing more

    return receive


def _read(scope, receive, *, limit=100, timeout=5.0):
    return asyncio.run(read_body(scope, receive, limit=limit, timeout=timeout))


def test_a_body_is_read_whole_from_its_chunks():
    scope = _scope(headers=[(b"transfer-encoding", b"chunked")])
    receive = _receive_from(
        {"type": "http.request", "body": b"abc", "more_body": True},
        {"type": "http.request", "body": b"def", "more_body": False},
    )

    assert _read(scope, receive) == b"abcdef"


def test_no_body_is_waited_for_when_none_is_announced():
    assert _read(_scope(), _receive_from()) == b""


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    scope = _scope(headers=[(b"content-length", b"101")])

    with pytest.raises(RequestRefused) as refused:
        _read(scope, _receive_from())

    assert refused.value.status == 413


def test_a_chunked_body_over_the_limit_is_refused_as_it_grows():
    scope = _scope(headers=[(b"transfer-encoding", b"chunked")])
    receive = _receive_from(
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
    )

    with pytest.raises(RequestRefused) as refused:
        _read(scope, receive)

    assert refused.value.status == 413


def test_a_body_that_stops_arriving_is_refused_at_the_deadline():
    scope = _scope(headers=[(b"content-length", b"50")])
    receive = _receive_from({"type": "http.request", "body": b"x", "more_body": True})

    with pytest.raises(RequestRefused) as refused:
        _read(scope, receive, timeout=0.05)

    assert refused.value.status == 408


def test_a_client_that_leaves_mid_body_gets_nothing():
    scope = _scope(headers=[(b"content-length", b"50")])
    receive = _receive_from({"type": "http.disconnect"})

    assert _read(scope, receive) is None
