"""gunicorn started as ``make run`` starts it (``gunicorn -c gunicorn.conf.py``),
on a free loopback port, for the end-to-end tests of the server."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *args: str, start_within: float = 60):
    """Yields (base URL, process); ``args`` follow ``-c gunicorn.conf.py`` (an app
    to serve instead of gunicorn.conf.py's). Stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *args],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", **env, "BIND": f"127.0.0.1:{port}"},
        start_new_session=True,  # its workers are stopped with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_within
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield base, server
    finally:
        stop(server)


def stop(server: subprocess.Popen, grace: float = 25) -> None:
    if server.poll() is None:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(5)
