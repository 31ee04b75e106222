"""Fuzz the live API against its own OpenAPI schema with schemathesis (a CI step).

Creates a database of its own, migrates and seeds it (a campaign of each kind),
starts gunicorn on Postgres + Redis on a spare port with rate limits raised (so
the run is not 429 noise), then runs schemathesis twice, as a customer and as
staff, with a fixed seed, bounded examples and a time limit. It fails on any
5xx, any answer the schema does not declare (status, body, headers, content
type), any request the schema forbids that the server accepts, and auth the
server ignores. Cleans up (server, database) whatever happens.

Run it as ``scripts/fuzz``. Environment: ``DATABASE_URL`` (a server to create
the database on), ``REDIS_URL`` (its database is flushed, as the tests do),
``FUZZ_PORT`` (default 18124), ``FUZZ_SECONDS`` (per run, default 75),
``FUZZ_EXAMPLES`` (per operation, default 30), ``FUZZ_SEED``.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SCHEMATHESIS = Path(PYTHON).parent / "schemathesis"
CONFIG = ROOT / "scripts" / "fuzz.toml"

PORT = int(os.environ.get("FUZZ_PORT", "18124"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "75"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
DB_NAME = f"couponsite_fuzz_{PORT}"
BASE_DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")

# Every limit the settings read (RATE_LIMIT_*), far above what one run sends.
RATE_LIMIT_VARIABLES = sorted(
    set(
        re.findall(
            r'"(RATE_LIMIT_[A-Z_]+)"', (ROOT / "couponsite/settings.py").read_text()
        )
    )
)

# Checks: all of schemathesis' but positive_data_acceptance, which expects every
# schema-valid request to succeed; ours are refused (400) by rules a schema cannot
# state: an expiry in the past, probabilities adding up past 1, a coupon type id of
# another campaign, a phone number that does not exist, a slug already taken.
EXCLUDED_CHECKS = ["positive_data_acceptance"]


def _database_url(name: str) -> str:
    parts = urllib.parse.urlsplit(BASE_DATABASE_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _postgres(sql: str) -> None:
    with psycopg.connect(BASE_DATABASE_URL, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            [DB_NAME],
        )
        connection.execute(sql)


def _server_env() -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(DB_NAME),
        "REDIS_URL": REDIS_URL,
        "BIND": f"127.0.0.1:{PORT}",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "ERROR",  # 4xx warnings are the point here; 5xx still log
        "SMS_BACKEND": "console",
        # Else most sign-in and email-change requests are 429s (resend too soon).
        "OTP_RESEND_SECONDS": "0",
        "EMAIL_CODE_RESEND_SECONDS": "0",
        # gunicorn answers an over-long URL itself (414, HTML) before the API
        # sees it; lifted so over-long query values reach the API's own checks.
        "GUNICORN_LIMIT_REQUEST_LINE": "0",
        **{variable: "100000/minute" for variable in RATE_LIMIT_VARIABLES},
    }
    env.pop("TEST_DATABASE_NAME", None)
    return env


def _manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _flush_redis() -> None:
    Redis.from_url(REDIS_URL).flushdb()


def _wait_for(url: str, server: subprocess.Popen) -> None:
    for _ in range(150):
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before answering")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def _schemathesis(token: str, who: str) -> int:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"http://127.0.0.1:{PORT}/api/schema/",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--header",
        f"Authorization: Bearer {token}",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(SECONDS),
        "--workers",
        "2",
        "--request-timeout",
        "10",
    ]
    print(
        f"fuzz: schemathesis as {who}, up to {SECONDS} s", file=sys.stderr, flush=True
    )
    return subprocess.run(command, cwd=ROOT).returncode


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="couponsite-fuzz-"))
    log = work / "server.log"
    env = _server_env()
    server = None
    try:
        print(f"fuzz: database {DB_NAME}, port {PORT}", file=sys.stderr, flush=True)
        _postgres(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        _postgres(f'CREATE DATABASE "{DB_NAME}"')
        _flush_redis()
        _manage(env, "migrate", "--noinput", "-v0")
        _manage(env, "seed_demo")
        customer = _manage(
            env, "issue_token", "--phone", "+14155550199", "--name", "fuzz"
        )
        staff = _manage(env, "issue_token", "--staff", "fuzz-staff", "--name", "fuzz")
        with log.open("w") as out:
            server = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "couponsite.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(f"http://127.0.0.1:{PORT}/healthz", server)
        failed = [
            who
            for who, token in (("customer", customer), ("staff", staff))
            if _schemathesis(token, who) != 0
        ]
        errors = [
            line
            for line in log.read_text().splitlines()
            if "ERROR" in line or "CRITICAL" in line
        ]
        if errors:
            print(
                "fuzz: the server logged errors:",
                *errors[:20],
                sep="\n",
                file=sys.stderr,
            )
        if failed or errors:
            print(
                f"fuzz: FAILED ({', '.join(failed) or 'server errors'})",
                file=sys.stderr,
            )
            return 1
        print("fuzz: schemathesis found no disagreement", file=sys.stderr)
        return 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        _postgres(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
