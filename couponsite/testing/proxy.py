"""nginx, HAProxy and PgBouncer processes of our own, from the repository's templates.

    with Nginx([8001, 8002]) as proxy:        # in front of gunicorn nodes on 8001, 8002
    with HAProxy([8001, 8002]) as proxy:      # the same, queueing past each node's maxconn
        httpx.get(f"{proxy.base_url}/healthz")
    with PgBouncer() as bouncer:              # transaction pooling before Postgres
        url = bouncer.database_url("couponsite")

Each renders its template (``deploy/nginx/couponsite.conf.template``,
``deploy/haproxy/couponsite.cfg.template``,
``deploy/pgbouncer/pgbouncer.ini.template``; ``@NAME@`` placeholders) into a
scratch directory of its own, where the process keeps its pid file, logs and
temporary files, and runs it in the foreground as a child in a process group of
its own, on a loopback port (a free one unless given). Leaving stops it (SIGTERM,
SIGKILL after a timeout) and removes the scratch directory. The system's own
nginx or PgBouncer service (and its configuration) is never touched.

``scripts/proxy-up`` and ``scripts/pgbouncer-up`` run one until interrupted:
``python -m couponsite.testing.proxy nginx|pgbouncer ...``.
"""

import argparse
import contextlib
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "couponsite.conf.template"
HAPROXY_TEMPLATE = ROOT / "deploy" / "haproxy" / "couponsite.cfg.template"
PGBOUNCER_TEMPLATE = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini.template"
NGINX = os.environ.get("NGINX_PATH", "/usr/sbin/nginx")
PGBOUNCER = os.environ.get("PGBOUNCER_PATH", "/usr/sbin/pgbouncer")
HAPROXY = os.environ.get("HAPROXY_PATH", "/usr/sbin/haproxy")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def render(template: Path, values: Mapping[str, object]) -> str:
    """``template``'s text with every ``@NAME@`` replaced by ``values[NAME]``;
    a placeholder without a value (or a value without a placeholder) is an error."""
    text = template.read_text()
    wanted = set(_PLACEHOLDER.findall(text))
    if missing := wanted - set(values):
        raise KeyError(f"{template.name}: no value for {sorted(missing)}")
    if unused := set(values) - wanted:
        raise KeyError(f"{template.name}: no placeholder for {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _hard_nofile() -> int:
    """The most descriptors a process may ask for (a non-root one cannot pass it)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1 << 20 if hard == resource.RLIM_INFINITY else hard


def _listening(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.5):
        return True
    return False


class _Child:
    """A server process of ours: scratch directory, start, wait for its port, stop."""

    name = "server"

    def __init__(self, *, host: str, port: int | None, stop_timeout: float) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.stop_timeout = stop_timeout
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    @contextlib.contextmanager
    def _cleaning_up(self):
        """Remove the scratch directory if preparing it fails."""
        try:
            yield
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise

    @property
    def log(self) -> Path:
        raise NotImplementedError

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def start(self, timeout: float = 15) -> None:
        output = (self.scratch / "stdout.log").open("ab")
        with output:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.scratch,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _listening(self.host, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                why = (
                    f"exited ({self.process.returncode})"
                    if self.process.poll() is not None
                    else f"did not listen in {timeout:.0f} s"
                )
                stdout = (self.scratch / "stdout.log").read_text(errors="replace")
                raise RuntimeError(
                    f"{self.name} on {self.host}:{self.port} {why}:\n"
                    f"{stdout[-2000:]}\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> bool:
        """Stop it (SIGTERM to its group, SIGKILL after ``stop_timeout``) and remove
        the scratch directory; True when it had to be killed. Safe to call twice."""
        killed = False
        if self.process is not None:
            group = self.process.pid
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGTERM)
                try:
                    self.process.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    killed = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process.wait()
            self.process = None
        shutil.rmtree(self.scratch, ignore_errors=True)
        return killed

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Nginx(_Child):
    """nginx in front of gunicorn nodes on ``upstream_ports`` (loopback).

    ``worker_connections`` bounds the connections each nginx worker holds (a
    client's and, while its request runs, the upstream's); ``backlog`` is the
    listen queue (the kernel caps it at ``net.core.somaxconn``);
    ``upstream_keepalive`` the idle connections to gunicorn each worker keeps.
    """

    name = "nginx"

    def __init__(
        self,
        upstream_ports: Sequence[int],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        upstream_host: str = "127.0.0.1",
        worker_processes: int | str = "auto",
        worker_connections: int = 16384,
        backlog: int = 65535,
        upstream_keepalive: int = 64,
        access_log: bool = False,
        stop_timeout: float = 10,
    ) -> None:
        if not upstream_ports:
            raise ValueError("nginx needs at least one upstream")
        super().__init__(host=host, port=port, stop_timeout=stop_timeout)
        self.conf = self.scratch / "nginx.conf"
        with self._cleaning_up():
            self._write_conf(
                upstream_ports=upstream_ports,
                upstream_host=upstream_host,
                worker_processes=worker_processes,
                worker_connections=worker_connections,
                backlog=backlog,
                upstream_keepalive=upstream_keepalive,
                access_log=access_log,
            )

    def _write_conf(
        self,
        *,
        upstream_ports: Sequence[int],
        upstream_host: str,
        worker_processes: int | str,
        worker_connections: int,
        backlog: int,
        upstream_keepalive: int,
        access_log: bool,
    ) -> None:
        host = self.host
        servers = "\n".join(
            f"        server {upstream_host}:{port} max_fails=0;"
            for port in upstream_ports
        )
        self.conf.write_text(
            render(
                NGINX_TEMPLATE,
                {
                    "SCRATCH": self.scratch,
                    "ERROR_LOG": self.scratch / "error.log",
                    "WORKER_PROCESSES": worker_processes,
                    "WORKER_CONNECTIONS": worker_connections,
                    "RLIMIT_NOFILE": min(2 * worker_connections + 64, _hard_nofile()),
                    "ACCESS_LOG": f"{self.scratch}/access.log" if access_log else "off",
                    "UPSTREAM_SERVERS": servers,
                    "UPSTREAM_KEEPALIVE": upstream_keepalive,
                    "LISTEN": f"{host}:{self.port}",
                    "BACKLOG": backlog,
                },
            )
        )
        if os.geteuid() == 0:
            # Root's nginx runs its workers as nobody: they must reach the temp dirs.
            self.scratch.chmod(0o755)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.scratch / "error.log"

    def command(self) -> list[str]:
        return [
            NGINX,
            "-p",
            str(self.scratch),
            "-c",
            str(self.conf),
            "-e",
            str(self.log),
        ]


class HAProxy(_Child):
    """HAProxy in front of gunicorn nodes on ``upstream_ports`` (loopback).

    ``server_maxconn`` bounds the requests each node holds at once; the rest
    wait in HAProxy's queue (``queue_timeout``); ``maxconn`` bounds the client
    connections it holds (default: as many as its open-file limit allows, past
    the nodes' share; the rest wait in the listen queue); ``backlog`` is the listen queue (the kernel caps it at
    ``net.core.somaxconn``).
    """

    name = "haproxy"

    def __init__(
        self,
        upstream_ports: Sequence[int],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        upstream_host: str = "127.0.0.1",
        threads: int = 2,
        maxconn: int | None = None,
        server_maxconn: int = 32,
        queue_timeout: str = "60s",
        backlog: int = 65535,
        stop_timeout: float = 10,
    ) -> None:
        if not upstream_ports:
            raise ValueError("haproxy needs at least one upstream")
        super().__init__(host=host, port=port, stop_timeout=stop_timeout)
        self.conf = self.scratch / "haproxy.cfg"
        servers = "\n".join(
            f"    server node{n} {upstream_host}:{upstream} maxconn {server_maxconn}"
            for n, upstream in enumerate(upstream_ports, 1)
        )
        files = min(1 << 20, _hard_nofile())
        # HAProxy reserves two descriptors per connection (its client's and a
        # server's) and refuses a maxconn the open-file limit cannot hold that way.
        self.maxconn = maxconn or max(256, (files - 256) // 2)
        with self._cleaning_up():
            self.conf.write_text(
                render(
                    HAPROXY_TEMPLATE,
                    {
                        "SCRATCH": self.scratch,
                        "MAXCONN": self.maxconn,
                        "ULIMIT_N": files,
                        "THREADS": threads,
                        "QUEUE_TIMEOUT": queue_timeout,
                        "LISTEN": f"{host}:{self.port}",
                        "BACKLOG": backlog,
                        "SERVERS": servers,
                    },
                )
            )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.scratch / "stdout.log"

    def command(self) -> list[str]:
        # -db: in the foreground, no daemon; -W: master-worker off by default.
        return [HAPROXY, "-db", "-f", str(self.conf)]


class PgBouncer(_Child):
    """PgBouncer (transaction pooling) before the Postgres of ``postgres_url``.

    Any database name is routed to that server; ``database_url(name)`` is the URL
    a client uses for one. ``pool_size`` server connections at most (per database
    and user, and per database in all); ``max_client_conn`` clients.
    """

    name = "pgbouncer"

    def __init__(
        self,
        postgres_url: str = DEFAULT_POSTGRES_URL,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        pool_size: int = 20,
        max_client_conn: int = 1000,
        stop_timeout: float = 10,
    ) -> None:
        super().__init__(host=host, port=port, stop_timeout=stop_timeout)
        self.postgres_url = postgres_url
        server = urlsplit(postgres_url)
        self.user = server.username or "postgres"
        self.password = server.password or ""
        self.conf = self.scratch / "pgbouncer.ini"
        with self._cleaning_up():
            self._write_conf(server, host, pool_size, max_client_conn)

    def _write_conf(self, server, host, pool_size, max_client_conn) -> None:
        self.conf.write_text(
            render(
                PGBOUNCER_TEMPLATE,
                {
                    "SCRATCH": self.scratch,
                    "PG_HOST": server.hostname or "127.0.0.1",
                    "PG_PORT": server.port or 5432,
                    "LISTEN_ADDR": host,
                    "LISTEN_PORT": self.port,
                    # With a password in the URL, clients must give it (md5);
                    # without one the local server trusts loopback, and so do we.
                    "AUTH_TYPE": "md5" if self.password else "trust",
                    "POOL_SIZE": pool_size,
                    "MAX_CLIENT_CONN": max_client_conn,
                    "ADMIN_USER": self.user,
                },
            )
        )
        (self.scratch / "userlist.txt").write_text(f'"{self.user}" "{self.password}"\n')
        self.run_as: str | None = None
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: it drops to nobody, which must
            # write its pid file and log here.
            self.run_as = "nobody"
            nobody = pwd.getpwnam(self.run_as)
            for path in [self.scratch, *self.scratch.iterdir()]:
                os.chown(path, nobody.pw_uid, nobody.pw_gid)

    @property
    def log(self) -> Path:
        return self.scratch / "pgbouncer.log"

    def command(self) -> list[str]:
        user = ["-u", self.run_as] if self.run_as else []
        return [PGBOUNCER, *user, str(self.conf)]

    def database_url(self, database: str) -> str:
        """``postgres_url`` with PgBouncer's address and ``database``."""
        server = urlsplit(self.postgres_url)
        login = server.username or "postgres"
        if server.password:
            login += f":{server.password}"
        return urlunsplit(
            server._replace(
                netloc=f"{login}@{self.host}:{self.port}", path=f"/{database}"
            )
        )


def _wait_for_signal(child: _Child, say: str) -> int:
    print(say, flush=True)
    stop = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.append(True))
    while not stop and child.process is not None and child.process.poll() is None:
        time.sleep(0.2)
    code = 0 if stop else 1
    if not stop:
        print(
            f"{child.name} exited; its log ends:\n{child.log_tail()}", file=sys.stderr
        )
    child.stop()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m couponsite.testing.proxy",
        description="Run nginx or PgBouncer from the repository's template until "
        "interrupted (Ctrl-C, SIGTERM).",
    )
    kinds = parser.add_subparsers(dest="kind", required=True)
    nginx = kinds.add_parser("nginx", help="nginx in front of gunicorn")
    nginx.add_argument("upstream_ports", nargs="+", type=int, metavar="UPSTREAM_PORT")
    nginx.add_argument("--port", type=int, default=None)
    nginx.add_argument("--worker-connections", type=int, default=16384)
    nginx.add_argument("--access-log", action="store_true")
    bouncer = kinds.add_parser("pgbouncer", help="PgBouncer before Postgres")
    bouncer.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    bouncer.add_argument("--port", type=int, default=None)
    bouncer.add_argument("--pool-size", type=int, default=20)
    args = parser.parse_args(argv)
    if args.kind == "nginx":
        child = Nginx(
            args.upstream_ports,
            port=args.port,
            worker_connections=args.worker_connections,
            access_log=args.access_log,
        )
        child.start()
        say = f"nginx on {child.base_url} (scratch {child.scratch}); Ctrl-C stops it"
    else:
        child = PgBouncer(args.postgres_url, port=args.port, pool_size=args.pool_size)
        child.start()
        say = (
            f"pgbouncer: DATABASE_URL={child.database_url('DBNAME')} "
            f"(scratch {child.scratch}); Ctrl-C stops it"
        )
    return _wait_for_signal(child, say)


if __name__ == "__main__":
    sys.exit(main())
