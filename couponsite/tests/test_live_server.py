"""The live server helper starts gunicorn on a database of its own, answers, and
leaves neither a process nor a database behind (couponsite/testing/live_server.py)."""

import json
import os
import socket
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from couponsite.testing.live_server import LiveServer, rate_limits

# Each test starts a real gunicorn: bounded well below the suite's 300 s.
pytestmark = pytest.mark.timeout(120)


def _admin_url() -> str:
    return os.environ["DATABASE_URL"]


def _database_name() -> str:
    # Beside this run's test database, so that parallel runs do not meet.
    return f"{settings.DATABASES['default']['TEST']['NAME']}_live_server"


def _database_exists(name: str) -> bool:
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    return found is not None


def _group(pgid: int) -> list[int]:
    """The processes of a process group (gunicorn's master and its workers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    members.append(int(entry.name))
            except ProcessLookupError:
                pass
    return members


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _health(base_url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.mark.postgres
def test_it_serves_a_fresh_postgres_database_and_leaves_nothing_behind():
    name = _database_name()

    with LiveServer(name, admin_url=_admin_url(), workers=2, label="test") as server:
        status, body = _health(server.base_url)
        running = _group(server.pid)
        created = _database_exists(name)
        scratch = server.scratch

    assert (status, body["status"]) == (200, "ok")
    assert created
    assert server.pid in running and len(running) == 3  # the master, two workers
    assert server.process.returncode is not None
    assert _group(server.pid) == []
    assert not _answers(server.port)
    assert not _database_exists(name)
    assert not scratch.exists()


@pytest.mark.postgres
def test_a_server_that_cannot_start_says_why_and_leaves_nothing_behind():
    name = _database_name()
    server = LiveServer(
        name,
        admin_url=_admin_url(),
        env={"GUNICORN_TIMEOUT": "never"},  # gunicorn.conf.py cannot read it
        label="test",
    )

    with pytest.raises(RuntimeError, match="exited") as raised, server:
        pytest.fail("the body ran without a server")

    # gunicorn's own words, from its log
    assert "invalid literal for int() with base 10: 'never'" in str(raised.value)
    assert _group(server.pid) == []
    assert not _database_exists(name)
    assert not server.scratch.exists()


def test_with_sqlite_the_database_is_a_scratch_file():
    with LiveServer("live_server", admin_url="sqlite://", workers=1) as server:
        status, _ = _health(server.base_url)
        database = Path(server.database_url.removeprefix("sqlite:///"))
        existed = database.exists()

    assert status == 200
    assert existed and database.parent == server.scratch
    assert not database.exists()
    assert _group(server.pid) == []


def test_a_task_worker_beside_it_sends_the_sign_in_code_and_stops_with_it():
    with LiveServer(
        "live_server",
        admin_url="sqlite://",
        workers=1,
        task_worker=True,
        env={"SMS_BACKEND": "file"},
    ) as server:
        request = urllib.request.Request(
            f"{server.base_url}/api/v1/auth/otp",
            data=json.dumps({"phone": "+14155550142"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
        texts = []
        for _ in range(150):
            texts = (
                list(server.sms_dir.glob("*.json")) if server.sms_dir.exists() else []
            )
            if texts:
                break
            time.sleep(0.1)
        sent = [json.loads(text.read_text()) for text in texts]
        worker = server.worker_process.pid

    assert [text["to"] for text in sent] == ["+14155550142"]
    assert _group(worker) == []


def test_the_server_keeps_its_files_in_its_scratch_directory():
    server = LiveServer("live_server", admin_url="sqlite://")
    try:
        assert server.env["SMS_FILE_PATH"] == str(server.sms_dir)
        assert server.sms_dir.parent == server.scratch
        assert server.env["BIND"] == f"127.0.0.1:{server.port}"
        assert "TEST_DATABASE_NAME" not in server.env
    finally:
        server.stop()


def test_rate_limits_names_every_limit_the_settings_read():
    per_address = {
        f"RATE_LIMIT_{scope.upper()}"
        for scope in settings.RATE_LIMITS
        if scope.endswith("_ip")
    }

    assert rate_limits("off", ending="_IP") == dict.fromkeys(per_address, "off")
    assert len(rate_limits("9/minute")) == len(settings.RATE_LIMITS)


@pytest.mark.nginx
def test_behind_nginx_clients_go_through_the_proxy_which_stops_with_it():
    with LiveServer(
        "live_server", admin_url="sqlite://", workers=1, proxy="nginx"
    ) as server:
        urls = server.base_url, server.upstream_url
        status, _ = _health(server.base_url)
        upstream_status, _ = _health(server.upstream_url)
        proxy_port = server.nginx.port
        proxy_group = _group(server.nginx.process.pid)
        trusted = server.env["TRUSTED_PROXIES"]

    assert urls[0] == f"http://127.0.0.1:{proxy_port}" != urls[1]
    assert (status, upstream_status) == (200, 200)
    assert trusted == "127.0.0.1"
    assert len(proxy_group) >= 2  # nginx's master and its worker(s)
    assert not _answers(proxy_port)
    assert all(not Path(f"/proc/{pid}").exists() for pid in proxy_group)
