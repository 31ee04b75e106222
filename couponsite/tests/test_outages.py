"""A database that cannot be reached is a 503 with Retry-After, logged once per
interval; every answer outside the admin stays JSON."""

import io
import json
import logging
import socket

import pytest
from django.db import connections
from django.test import Client

from couponsite.logfilters import RepeatFilter


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres_down():
    """Point the default connection at a local port where nothing listens."""
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=_free_port())
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


@pytest.fixture
def console_log():
    """What the project's console log handler writes during the test."""
    (handler,) = [
        h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler
    ]
    for log_filter in handler.filters:
        if isinstance(log_filter, RepeatFilter):
            log_filter.clear()  # forget what earlier tests logged
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/campaigns", None),
        ("post", "/api/v1/auth/otp", {"phone": "+14155550123"}),
        ("get", "/api/v1/me", None),
    ],
)
def test_api_answers_503_with_retry_after_when_postgres_is_down(
    postgres_down, api_client, method, path, body
):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-cached-anywhere")

    response = getattr(api_client, method)(path, body, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response["Retry-After"]) > 0


def test_admin_answers_503_when_its_session_cannot_be_loaded(admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=_free_port())
    try:
        response = client.get("/admin/")
    finally:
        connection.close()
        connection.settings_dict.update(saved)

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


def test_a_hundred_failing_requests_log_one_line(
    postgres_down, api_client, console_log
):
    for _ in range(100):
        assert api_client.get("/api/v1/campaigns").status_code == 503

    lines = console_log.getvalue().splitlines()
    assert len([line for line in lines if "database unavailable" in line]) == 1
    assert len([line for line in lines if "Service Unavailable" in line]) == 1
    assert "Traceback" not in console_log.getvalue()


def _record(message="Exception ignored", *, name="couponsite.redis"):
    try:
        raise ConnectionError("refused")
    except ConnectionError as exc:
        info = (type(exc), exc, exc.__traceback__)
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, (), info)


def test_repeats_pass_once_per_interval_and_the_next_says_how_many_were_dropped(
    monkeypatch,
):
    clock = iter([0.0] * 50 + [61.0])
    monkeypatch.setattr("couponsite.logfilters.time.monotonic", lambda: next(clock))
    repeats = RepeatFilter(seconds=60)

    passed = [repeats.filter(_record()) for _ in range(50)]
    later = _record()

    assert passed.count(True) == 1
    assert repeats.filter(later)
    assert later.repeats_dropped == 49
    assert "49 like it dropped" in later.getMessage()


def test_different_troubles_and_plain_warnings_are_not_merged():
    repeats = RepeatFilter(seconds=60)

    assert repeats.filter(_record("one thing"))
    assert repeats.filter(_record("another thing"))
    assert repeats.filter(_record("one thing", name="couponsite.other"))
    client_error = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "%s: %s",
        ("Not Found", "/x"),
        None,
    )
    assert repeats.filter(client_error)
    assert repeats.filter(client_error)


def test_post_to_health_endpoints_is_a_json_405_not_a_csrf_page():
    client = Client(enforce_csrf_checks=True)

    for path in ("/readyz", "/healthz"):
        response = client.post(path)
        assert response.status_code == 405, path
        assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_a_refused_csrf_check_outside_the_admin_is_json(rf):
    from couponsite.api.views import csrf_failure

    response = csrf_failure(rf.post("/readyz"), reason="CSRF cookie not set.")

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "CSRF_FAILED"
    assert b"<html" not in csrf_failure(rf.post("/x")).content.lower()
    assert b"<html" in csrf_failure(rf.post("/admin/login/")).content.lower()


def test_redis_down_logs_one_warning_per_interval_not_one_per_request(
    redis_down, customer_client, console_log
):
    for _ in range(30):
        assert customer_client.get("/api/v1/me").status_code == 200

    lines = console_log.getvalue().splitlines()
    assert 1 <= len([line for line in lines if "couponsite.redis" in line]) <= 2
