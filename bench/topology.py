"""The processes a bench run talks to, on this machine, loopback only.

    with Topology("cluster", database=..., redis_url=..., env=..., port=...) as topo:
        topo.port          # where the load generator goes (the proxy, if any)
        topo.node_urls     # each gunicorn node's own URL
        topo.parties()     # every process of the topology, for the CPU meter

- ``single``: one gunicorn (``LiveServer``) on Postgres and one Redis; the load
  generator talks to it directly.
- ``proxy``: the same gunicorn behind the proxy (``deploy/haproxy/`` by
  default, or ``deploy/nginx/`` with ``proxy="nginx"``).
- ``cluster``: a Redis Cluster of three masters (``scripts/redis-cluster-up`` on
  ``cluster_port``..+2), PgBouncer in transaction mode before Postgres
  (``DATABASE_POOLER=pgbouncer``), two gunicorn nodes on two ports, each with
  its own workers (and their per-process caches), and the proxy balancing over
  both.

The database is created, migrated and filled directly on Postgres (the first
node's ``LiveServer``); only the gunicorn nodes go through PgBouncer. Leaving
stops everything it started, in reverse order, even when starting failed half
way: the nodes, the proxy, PgBouncer, and the Redis Cluster (its nodes and
their scratch directory).
"""

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bench.scenarios import Parties
from couponsite.testing.live_server import (
    LiveServer,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    gunicorn_wait,
)
from couponsite.testing.proxy import HAProxy, Nginx, PgBouncer

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ("single", "proxy", "cluster")
PROXIES = ("haproxy", "nginx")
# The bench's own Redis Cluster ports (and +10000 for the cluster bus): away from
# scripts/test-redis-cluster's 7301-7303, so a bench and CI's cluster tests never
# share one.
DEFAULT_CLUSTER_PORT = 7311
# Server connections PgBouncer keeps to Postgres for both nodes: Postgres allows
# 100 here, shared with the tests and other benches.
PGBOUNCER_POOL_SIZE = 20


def proxy_process(kind: str, upstream_ports: Sequence[int], options: Mapping):
    if kind == "nginx":
        return Nginx(upstream_ports, **options)
    if kind == "haproxy":
        return HAProxy(upstream_ports, **options)
    raise ValueError(f"unknown proxy {kind!r}: one of {PROXIES}")


class Topology:
    """See the module's docstring. ``env``, ``workers``, ``commands`` and
    ``label`` are ``LiveServer``'s; ``port`` is the first node's (the second
    takes a free one; the proxy a free one too)."""

    def __init__(
        self,
        kind: str,
        *,
        database: str,
        admin_url: str,
        redis_url: str,
        env: Mapping[str, str],
        workers: int,
        port: int,
        commands: Sequence[Sequence[str]] = (),
        label: str = "bench",
        proxy: str = "haproxy",
        proxy_options: Mapping[str, object] | None = None,
        cluster_port: int = DEFAULT_CLUSTER_PORT,
    ) -> None:
        if kind not in TOPOLOGIES:
            raise ValueError(f"unknown topology {kind!r}: one of {TOPOLOGIES}")
        if proxy not in PROXIES:
            raise ValueError(f"unknown proxy {proxy!r}: one of {PROXIES}")
        self.kind = kind
        self.database = database
        self.admin_url = admin_url
        self.redis_url = redis_url
        self.env = dict(env)
        self.workers = workers
        self.first_port = port
        self.commands = commands
        self.label = label
        self.proxy_kind = proxy if kind != "single" else None
        self.proxy_options = dict(proxy_options or {})
        self.cluster_port = cluster_port
        self.cluster_ports: tuple[int, ...] = ()
        self.server: LiveServer | None = None
        self.proxy = None
        self.bouncer: PgBouncer | None = None
        self.second: subprocess.Popen | None = None
        self.second_port: int | None = None
        self.second_log: Path | None = None
        self._stack = contextlib.ExitStack()

    # --- what the bench reads ----------------------------------------------------

    @property
    def port(self) -> int:
        """Where the load generator goes: the proxy, else the one gunicorn."""
        return self.proxy.port if self.proxy is not None else self.server.port

    @property
    def node_urls(self) -> list[str]:
        urls = [self.server.upstream_url]
        if self.second_port is not None:
            urls.append(f"http://127.0.0.1:{self.second_port}")
        return urls

    def parties(self) -> Parties:
        more = {}
        if self.second is not None:
            more["gunicorn-b"] = self.second.pid
        if self.proxy is not None and self.proxy.process is not None:
            more[self.proxy.name] = self.proxy.process.pid
        if self.bouncer is not None and self.bouncer.process is not None:
            more["pgbouncer"] = self.bouncer.process.pid
        redis_port = (
            urlsplit(self.redis_url).port or 6379
            if self.redis_url and not self.cluster_ports
            else None
        )
        return Parties(
            server_pid=self.server.pid,
            database=self.database,
            redis_port=redis_port,
            more=more,
            redis_ports=self.cluster_ports,
        )

    def describe(self) -> dict:
        """What the results record about the topology."""
        return {
            "kind": self.kind,
            "proxy": self.proxy_kind,
            "gunicorn_nodes": len(self.node_urls),
            "workers_per_node": self.workers,
            "redis": (
                {"cluster_ports": list(self.cluster_ports)}
                if self.cluster_ports
                else {"url": self.redis_url}
            ),
            "pgbouncer": (
                {"pool_mode": "transaction", "pool_size": PGBOUNCER_POOL_SIZE}
                if self.bouncer is not None
                else None
            ),
        }

    def errors_logged(self) -> list[str]:
        lines = self.server.errors_logged() if self.server is not None else []
        if self.second_log is not None and self.second_log.exists():
            lines += [
                line
                for line in self.second_log.read_text(errors="replace").splitlines()
                if any(word in line for word in ("ERROR", "CRITICAL", "Traceback"))
            ]
        return lines

    # --- start and stop ----------------------------------------------------------

    def __enter__(self) -> "Topology":
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _say(self, message: str) -> None:
        print(f"{self.label}: {message}", file=sys.stderr, flush=True)

    def _start(self) -> None:
        env = dict(self.env)
        server_env: dict[str, str] = {}
        redis_url = self.redis_url
        if self.kind == "cluster":
            redis_url = self._start_redis_cluster()
            env["REDIS_CLUSTER"] = "1"
            self.bouncer = self._stack.enter_context(
                PgBouncer(self.admin_url, pool_size=PGBOUNCER_POOL_SIZE)
            )
            server_env = {
                "DATABASE_URL": self.bouncer.database_url(self.database),
                "DATABASE_POOLER": "pgbouncer",
            }
            self._say(f"pgbouncer on port {self.bouncer.port} (transaction pooling)")
        if self.kind != "single":
            env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
        self.server = self._stack.enter_context(
            LiveServer(
                self.database,
                admin_url=self.admin_url,
                redis_url=redis_url,
                env=env,
                workers=self.workers,
                port=self.first_port,
                commands=self.commands,
                keep_database=True,  # left for a look at what the run wrote
                label=self.label,
                server_env=server_env,
            )
        )
        upstreams = [self.server.port]
        if self.kind == "cluster":
            upstreams.append(self._start_second_node())
        if self.proxy_kind is not None:
            self.proxy = self._stack.enter_context(
                proxy_process(self.proxy_kind, upstreams, self.proxy_options)
            )
            self._say(
                f"{self.proxy_kind} on port {self.proxy.port} before "
                f"gunicorn on {', '.join(map(str, upstreams))}"
            )

    def _start_redis_cluster(self) -> str:
        script_env = {
            **os.environ,
            "REDIS_CLUSTER_PORT": str(self.cluster_port),
        }
        script = str(ROOT / "scripts" / "redis-cluster-up")

        def stop() -> None:
            subprocess.run(
                [script, "stop"], env=script_env, timeout=60, capture_output=True
            )

        # Stopped on leaving, even if starting fails half way.
        self._stack.callback(stop)
        url = subprocess.run(
            [script],
            env=script_env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.strip()
        self.cluster_ports = tuple(self.cluster_port + n for n in range(3))
        self._say(f"redis cluster on ports {', '.join(map(str, self.cluster_ports))}")
        return url

    def _start_second_node(self) -> int:
        """A second gunicorn with the first's environment, on a port of its own."""
        self.second_port = free_port()
        self.second_log = Path(
            tempfile.mkstemp(prefix="bench-node-b-", suffix=".log")[1]
        )
        self._stack.callback(self.second_log.unlink, missing_ok=True)
        env = {**self.server.server_env, "BIND": f"127.0.0.1:{self.second_port}"}
        with self.second_log.open("ab") as log:
            self.second = gunicorn_start(env, output=log)

        def stop() -> None:
            if gunicorn_stop(self.second, timeout=30):
                self._say("the second gunicorn ignored SIGTERM")

        self._stack.callback(stop)
        url = f"http://127.0.0.1:{self.second_port}"
        problem = gunicorn_wait(self.second, url, timeout=60)
        if problem is not None:
            tail = self.second_log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.label}: second node: {problem}:\n{tail}")
        self._say(f"second gunicorn answers on {url}")
        return self.second_port
