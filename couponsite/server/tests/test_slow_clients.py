"""End to end: the server as ``make run`` starts it keeps answering beside 50
idle, 50 half-open and 20 slow-body connections and 5 slow readers (issue 18,
``scripts/slow_clients.py``, which ``scripts/smoke`` runs too). With the old sync
workers (``GUNICORN_WORKER_CLASS=sync``) the same check fails: two of those
connections hold both workers until the worker timeout."""

import os
import subprocess
import sys

import pytest

from couponsite.testing.live_server import ROOT, gunicorn

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def embedded_database(tmp_path_factory):
    """The embedded default (SQLite, no Redis), migrated as make run does."""
    path = tmp_path_factory.mktemp("embedded") / "db.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{path}", "REDIS_URL": ""}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        timeout=120,
    )
    return env


def test_idle_half_open_and_slow_body_connections_leave_others_answered(
    embedded_database,
):
    with gunicorn(embedded_database) as (base, _):
        # given 50 idle, 50 half-open, 20 slow-body connections and 5 slow readers
        # when /healthz and /api/v1/campaigns are asked on fresh connections
        check = subprocess.run(
            [sys.executable, "scripts/slow_clients.py", base],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # then both are answered 200 within a second
    print(check.stdout, check.stderr)
    assert check.returncode == 0, check.stderr
    assert check.stdout.count(": 200 in ") == 2
