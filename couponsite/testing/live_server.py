"""The real service (gunicorn) on a database of its own, for jobs that drive it
over HTTP: the schema fuzz (``scripts/fuzz.py``), the contract run
(``contract/``) and the benchmark (``bench/``).

    with LiveServer("couponsite_fuzz", redis_url=..., seed=True, env={...}) as server:
        token = server.manage("issue_token", "--staff", "admin")
        httpx.get(f"{server.base_url}/api/v1/me", headers=...)

Entering it (re)creates the database on the Postgres server of ``admin_url``
(with a SQLite ``admin_url``, a file in the scratch directory), migrates it,
seeds it (``seed_demo``) if asked, runs the extra ``manage.py`` commands, starts
gunicorn (``gunicorn.conf.py``) on a loopback port with the job's environment,
and waits until ``/healthz`` answers. Leaving it stops gunicorn's whole process
group (SIGTERM, SIGKILL after ``stop_timeout``), drops the database unless
``keep_database``, and removes the scratch directory.

With ``proxy="nginx"`` an nginx of its own (``couponsite.testing.proxy.Nginx``,
``deploy/nginx/couponsite.conf.template``) stands in front of gunicorn, as in
production: ``base_url`` is then the proxy's, ``upstream_url`` gunicorn's own,
and the server believes the proxy's ``X-Forwarded-For`` (``TRUSTED_PROXIES``
is loopback's 127.0.0.1 unless ``env`` says otherwise).

gunicorn writes to ``log`` in the scratch directory. When gunicorn does not
come up, or the ``with`` body raises, the end of that log is printed to stderr,
which a failing CI run shows; ``errors_logged()`` hands jobs the lines that tell
of an error. Files the server writes (SMS and mail with the ``file`` backends)
land in the scratch directory too (``sms_dir``). With ``task_worker=True`` a
task worker (``manage.py db_worker``, as ``make run`` starts one) runs beside
gunicorn, writing to the same log, and stops with it: messages to customers
(sign-in codes, email codes) are sent by it. Both write their metrics to
``metrics_dir`` (``PROMETHEUS_MULTIPROC_DIR``), emptied before gunicorn starts,
which ``GET /metrics`` adds up.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from redis import Redis

from couponsite.testing.proxy import Nginx

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Words of a log line that tells of an error (logging levels, or a bare traceback).
ERROR_WORDS = ("ERROR", "CRITICAL", "Traceback")


def rate_limits(value: str, *, ending: str = "") -> dict[str, str]:
    """Every rate limit the settings read (``RATE_LIMIT_*`` variables) whose name
    ends in ``ending``, set to ``value``: ``rate_limits("off", ending="_IP")`` lifts
    the per-address limits, which a job whose every request comes from loopback
    would otherwise meet at once."""
    names = re.findall(
        r'"(RATE_LIMIT_[A-Z_]+)"', (ROOT / "couponsite" / "settings.py").read_text()
    )
    return {name: value for name in sorted(set(names)) if name.endswith(ending)}


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- gunicorn as `make run` starts it ---------------------------------------------------


def gunicorn_start(env: Mapping[str, str], *args: str, output=None) -> subprocess.Popen:
    """``gunicorn -c gunicorn.conf.py`` (which names the app and the worker) with
    ``env`` as its whole environment; ``args`` follow (e.g. another app to serve).
    Its output goes to ``output`` (a file; None: this process's). A process group
    of its own, so that ``gunicorn_stop`` stops master and workers alike."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args],
        cwd=ROOT,
        env=dict(env),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
    )


def gunicorn_wait(
    process: subprocess.Popen, base_url: str, timeout: float
) -> str | None:
    """None once ``base_url``'s ``/healthz`` answers; else why it did not."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            return f"gunicorn exited ({process.returncode}) before answering"
        try:
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1).close()
            return None
        except OSError:
            if time.monotonic() > deadline:
                return f"gunicorn did not answer /healthz in {timeout:.0f} s"
            time.sleep(0.2)


def task_worker_start(env: Mapping[str, str], output=None) -> subprocess.Popen:
    """``manage.py db_worker`` on every queue, as the Procfile starts it, in a
    process group of its own (``gunicorn_stop`` stops it the same way)."""
    return subprocess.Popen(
        [
            *(sys.executable, "manage.py", "db_worker"),
            *("--queue-name", "*", "--no-reload", "--interval", "0.2"),
        ],
        cwd=ROOT,
        env=dict(env),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
    )


def gunicorn_stop(process: subprocess.Popen, timeout: float) -> bool:
    """Stop gunicorn's whole process group: SIGTERM (workers finish their requests),
    SIGKILL after ``timeout``, and SIGKILL to any worker a dead master left behind.
    True when it had to be killed."""
    group = process.pid  # start_new_session: the group is the master's pid
    killed = False
    if process.poll() is None:
        os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()
    return killed


@contextlib.contextmanager
def gunicorn(env: Mapping[str, str], *args: str, start_within: float = 60):
    """gunicorn as ``make run`` starts it, on a free loopback port, over this
    process's environment plus ``env``: yields (base URL, process); stopped on
    exit. For tests of the server itself, on a database they prepared."""
    port = free_port()
    process = gunicorn_start(
        {**os.environ, "LOG_LEVEL": "WARNING", **env, "BIND": f"127.0.0.1:{port}"},
        *args,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        problem = gunicorn_wait(process, base_url, start_within)
        if problem is not None:
            raise RuntimeError(problem)
        yield base_url, process
    finally:
        gunicorn_stop(process, timeout=25)


class LiveServer:
    """gunicorn on a fresh database, as a context manager; see the module's docstring.

    ``env`` is laid over this process's environment; the server's own keys
    (``DATABASE_URL``, ``REDIS_URL``, ``BIND``, ``WEB_CONCURRENCY``) come from the
    arguments; ``server_env`` is laid over that for gunicorn and the task worker
    only (``manage.py`` runs without it). ``redis_url=""`` runs without Redis; ``flush_redis`` empties that
    Redis database first. ``port=None`` takes a free one. ``label`` starts every
    line it prints.
    """

    def __init__(
        self,
        database: str,
        *,
        admin_url: str = DEFAULT_ADMIN_URL,
        redis_url: str = "",
        flush_redis: bool = False,
        env: Mapping[str, str] | None = None,
        workers: int = 2,
        port: int | None = None,
        seed: bool = False,
        commands: Sequence[Sequence[str]] = (),
        keep_database: bool = False,
        label: str = "live server",
        start_timeout: float = 60,
        stop_timeout: float = 30,
        task_worker: bool = False,
        proxy: str | None = None,
        proxy_options: Mapping[str, object] | None = None,
        server_env: Mapping[str, str] | None = None,
    ) -> None:
        if proxy not in (None, "nginx"):
            raise ValueError(f"unknown proxy {proxy!r}: None or 'nginx'")
        self.database = database
        self.admin_url = admin_url
        self.postgres = admin_url.startswith("postgres")
        if self.postgres and database == urlsplit(admin_url).path.lstrip("/"):
            raise ValueError(f"{database} is the database the server is run from")
        self.redis_url = redis_url
        self.flush_redis = flush_redis
        self.port = port or free_port()
        self.seed = seed
        self.commands = [list(command) for command in commands]
        self.keep_database = keep_database
        self.label = label
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.scratch = Path(tempfile.mkdtemp(prefix=f"live-server-{database}-"))
        self.log = self.scratch / "server.log"
        self.database_url = self._database_url()
        self.proxy = proxy
        self.proxy_options = dict(proxy_options or {})
        self.nginx: Nginx | None = None
        self.env = {
            **os.environ,
            "SMS_FILE_PATH": str(self.scratch / "sms"),
            "EMAIL_FILE_PATH": str(self.scratch / "mail"),
            **({"TRUSTED_PROXIES": "127.0.0.1"} if proxy else {}),
            **(env or {}),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url,
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
        }
        # The name of the test runner's own database: not the server's business.
        self.env.pop("TEST_DATABASE_NAME", None)
        # What gunicorn and the task worker see: ``env`` with ``server_env`` laid
        # over it (e.g. a pooler's DATABASE_URL), while manage.py's commands
        # (migrate, the fixtures) and the job itself keep ``env``'s.
        self.server_env = {**self.env, **(server_env or {})}
        self.process: subprocess.Popen | None = None
        self._process_stopped = False
        self.task_worker = task_worker
        self.worker_process: subprocess.Popen | None = None
        self._database_created = False

    @property
    def base_url(self) -> str:
        """Where clients go: the proxy's URL with ``proxy``, else gunicorn's."""
        if self.nginx is not None:
            return self.nginx.base_url
        return self.upstream_url

    @property
    def upstream_url(self) -> str:
        """gunicorn's own URL (behind the proxy, if there is one)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """gunicorn's master process (its workers are its children)."""
        assert self.process is not None, "the server is not running"
        return self.process.pid

    @property
    def metrics_dir(self) -> Path:
        """Where gunicorn's workers and the task worker write their metrics
        (``PROMETHEUS_MULTIPROC_DIR``): emptied before gunicorn starts. The
        ``manage.py`` commands run before it (``seed``, ``commands``) write none."""
        return Path(
            self.env.get("PROMETHEUS_MULTIPROC_DIR") or self.scratch / "metrics"
        )

    @property
    def sms_dir(self) -> Path:
        """Where SMS go with ``SMS_BACKEND=file``."""
        return Path(self.env["SMS_FILE_PATH"])

    def __enter__(self) -> "LiveServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self._print_log_tail(f"the run stopped on {exc_type.__name__}")
        self.stop()

    def start(self) -> None:
        self._say(
            f"database {self.database}, redis {self.redis_url or 'none'}, "
            f"port {self.port}"
        )
        if self.postgres:
            self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            self._admin("CREATE DATABASE {}")
        self._database_created = True
        if self.flush_redis and self.redis_url:
            Redis.from_url(self.redis_url).flushdb()
        self.manage("migrate", "--noinput", "-v0")
        if self.seed:
            self.manage("seed_demo")
        for command in self.commands:
            self.manage(*command)
        served = self._served_env()
        with self.log.open("ab") as log:
            self.process = gunicorn_start(served, output=log)
        problem = gunicorn_wait(self.process, self.upstream_url, self.start_timeout)
        if problem is not None:
            raise RuntimeError(
                f"{self.label}: {problem}; its log ends:\n{self.log_tail()}"
            )
        self._say(f"gunicorn answers on {self.upstream_url}")
        if self.proxy == "nginx":
            self.nginx = Nginx([self.port], **self.proxy_options)
            self.nginx.start()
            self._say(f"nginx answers on {self.nginx.base_url}")
        if self.task_worker:
            with self.log.open("ab") as log:
                self.worker_process = task_worker_start(served, output=log)
            self._say("a task worker runs beside it")

    def _served_env(self) -> dict[str, str]:
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        return {**self.server_env, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}

    def manage(self, *args: str) -> str:
        """``manage.py`` against the server's database and settings; its stdout."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{self.label}: manage.py {' '.join(args)} exited {done.returncode}:\n"
                f"{(done.stdout + done.stderr)[-3000:]}"
            )
        return done.stdout.strip()

    def staff_token(self, username: str, *roles: str) -> str:
        """A new API token of staff user ``username`` (made if new), who is in
        exactly the back office's ``roles`` (``couponsite.roles``' groups; none:
        a staff user without any permission)."""
        token = self.manage("issue_token", "--staff", username, "--name", self.label)
        self.manage(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth import get_user_model; "
            "from django.contrib.auth.models import Group; "
            f"groups = Group.objects.filter(name__in={list(roles)!r}); "
            f"assert len(groups) == {len(roles)}, 'a role without its group'; "
            f"get_user_model().objects.get(username={username!r}).groups.set(groups)",
        )
        return token

    def errors_logged(self) -> list[str]:
        """The lines of gunicorn's log that tell of an error or a traceback."""
        if not self.log.exists():
            return []
        return [
            line
            for line in self.log.read_text(errors="replace").splitlines()
            if any(word in line for word in ERROR_WORDS)
        ]

    def log_tail(self, lines: int = 60) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop gunicorn, drop the database, remove the scratch directory; safe to
        call twice. Failures to clean up are printed, never raised, so that they do
        not hide the run's own result."""
        if self.nginx is not None:
            if self.nginx.stop():
                self._say("nginx ignored SIGTERM")
            self.nginx = None
        if self.worker_process is not None:
            if gunicorn_stop(self.worker_process, self.stop_timeout):
                self._say(f"the worker ignored SIGTERM for {self.stop_timeout:.0f} s")
            self.worker_process = None
        if self.process is not None and not self._process_stopped:
            if gunicorn_stop(self.process, self.stop_timeout):
                self._say(f"gunicorn ignored SIGTERM for {self.stop_timeout:.0f} s")
            self._process_stopped = True
        if self._database_created and self.postgres and not self.keep_database:
            try:
                self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            except psycopg.Error as error:
                self._say(f"could not drop {self.database}: {error}")
        self._database_created = False
        shutil.rmtree(self.scratch, ignore_errors=True)

    # --- the parts --------------------------------------------------------------------

    def _database_url(self) -> str:
        if not self.postgres:
            return f"sqlite:///{self.scratch / f'{self.database}.sqlite3'}"
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{self.database}"))

    def _admin(self, statement: str) -> None:
        query = sql.SQL(statement).format(sql.Identifier(self.database))
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(query)

    def _print_log_tail(self, why: str) -> None:
        tail = self.log_tail()
        if tail:
            self._say(f"{why}; gunicorn's log ends:\n{tail}")

    def _say(self, message: str) -> None:
        print(f"{self.label}: {message}", file=sys.stderr, flush=True)
