"""A throwaway server for the contract run: its own Postgres database, migrated
and seeded, gunicorn on a spare port with Redis, SMS written to files, rate
limits raised (except the one the flow runs into on purpose)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"

# The flow comes from one address and signs in a handful of customers quickly:
# per-address limits off, per-customer ones generous. The per-phone OTP limit is
# kept low so that one phone meets RATE_LIMITED (see contract/flow/signin.py).
RATE_LIMITS = {
    **{
        f"RATE_LIMIT_{scope}_IP": "off"
        for scope in (
            "OTP",
            "TOKEN",
            "DRAW",
            "CLAIM",
            "RESERVE",
            "GRAB",
            "REDEEM",
            "LOOKUP",
        )
    },
    "RATE_LIMIT_REDEEM_FAIL_IP": "off",
    "RATE_LIMIT_EMAIL_IP": "off",
    "RATE_LIMIT_EMAIL_CUSTOMER": "1000/hour",
    "RATE_LIMIT_OTP_PHONE": "3/hour",
    **{
        f"RATE_LIMIT_{scope}_CUSTOMER": "1000/minute"
        for scope in ("DRAW", "CLAIM", "RESERVE", "GRAB", "REDEEM", "LOOKUP")
    },
    "RATE_LIMIT_REDEEM_FAIL_CUSTOMER": "1000/hour",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class Server:
    def __init__(self) -> None:
        self.admin_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        if not self.admin_url.startswith("postgres"):
            raise SystemExit("contract: DATABASE_URL must point at Postgres")
        self.database = os.environ.get("CONTRACT_DATABASE_NAME", "couponsite_contract")
        self.redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
        self.port = int(os.environ.get("CONTRACT_PORT") or _free_port())
        self.scratch = Path(tempfile.mkdtemp(prefix="contract-server-"))
        self.sms_dir = self.scratch / "sms"
        self.log = self.scratch / "server.log"
        self.process: subprocess.Popen | None = None
        self.staff_token = ""
        self.env = {
            **os.environ,
            "DATABASE_URL": _with_database(self.admin_url, self.database),
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "contract",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Errors only: 4xx answers are the flow's business, a 500 is reported.
            "LOG_LEVEL": "ERROR",
            "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
            "SMS_BACKEND": "file",
            "SMS_FILE_PATH": str(self.sms_dir),
            # Mail (email verification codes) is printed to the server's log.
            "EMAIL_BACKEND": "console",
            "WEB_CONCURRENCY": "2",
            "BIND": f"127.0.0.1:{self.port}",
            **RATE_LIMITS,
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def _manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def start(self) -> "Server":
        print(f"contract: database {self.database}, redis {self.redis_url}")
        self._admin(
            f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)',
            f'CREATE DATABASE "{self.database}"',
        )
        # Rush keys are named by campaign id, which a new database reuses.
        Redis.from_url(self.redis_url).flushdb()
        self._manage("migrate", "--noinput", "-v0")
        self._manage("seed_demo")
        self.staff_token = self._manage("issue_token", "--staff", "admin").strip()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "couponsite.wsgi",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1)
                print(f"contract: gunicorn answers on {self.base_url}")
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError(
            f"contract: gunicorn did not come up:\n{self.log.read_text()[-3000:]}"
        )

    def errors_logged(self) -> list[str]:
        """Lines of the server's log that tell of an error or a traceback."""
        if not self.log.exists():
            return []
        return [
            line
            for line in self.log.read_text().splitlines()
            if any(word in line for word in ("ERROR", "CRITICAL", "Traceback"))
        ]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except Exception as exc:  # cleanup must not hide the run's own result
            print(f"contract: could not drop {self.database}: {exc}", file=sys.stderr)
        shutil.rmtree(self.scratch, ignore_errors=True)
