"""Slow clients must not stall the server (issue 18).

    python scripts/slow_clients.py http://127.0.0.1:8000

Opens idle connections (connect, send nothing), half-open ones (a request line
and one header, then nothing), slow-body ones (a POST's headers and a tenth of
its body, then nothing) and slow readers (ask for the 120 kB API schema through
a 4 kB receive buffer, and never read it), then asks for ``/healthz`` and
``/api/v1/campaigns`` on fresh connections: each must be answered 200 within
``--budget`` seconds.
Exits 1 naming what was not. Loopback only; every wait is bounded (a stalled
server fails the check in seconds, it never hangs it); every socket is closed.
"""

import argparse
import http.client
import socket
import sys
import time
from contextlib import ExitStack
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PATHS = ("/healthz", "/api/v1/campaigns")


def _connect(
    stack: ExitStack, host: str, port: int, first_bytes: bytes, receive_buffer=0
) -> None:
    sock = stack.enter_context(socket.socket())
    sock.settimeout(2)
    if receive_buffer:  # before connecting, so the window stays this small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect((host, port))
    if first_bytes:
        sock.sendall(first_bytes)


def _timed_get(host: str, port: int, path: str, timeout: float) -> tuple[str, float]:
    """(outcome, seconds): outcome is the status code, or what went wrong."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        response.read()
        outcome = str(response.status)
    except (OSError, http.client.HTTPException) as error:
        outcome = f"no answer ({type(error).__name__})"
    finally:
        connection.close()
    return outcome, time.monotonic() - started


def check(
    host: str,
    port: int,
    *,
    idle: int = 50,
    half_open: int = 50,
    slow_body: int = 20,
    slow_read: int = 5,
    budget: float = 1.0,
    give_up: float = 5.0,
) -> list[str]:
    """The problems found (none: the server kept answering)."""
    if host not in LOOPBACK:
        raise SystemExit(f"loopback only, not {host!r}")
    host_header = f"Host: {host}:{port}\r\n".encode()
    problems = []
    with ExitStack() as stack:
        for path in PATHS:  # warm: the first request of a worker imports a lot
            _timed_get(host, port, path, give_up)
        for _ in range(idle):
            _connect(stack, host, port, b"")
        for _ in range(half_open):
            _connect(stack, host, port, b"GET /healthz HTTP/1.1\r\n" + host_header)
        for _ in range(slow_body):
            _connect(
                stack,
                host,
                port,
                b"POST /api/v1/auth/otp HTTP/1.1\r\n"
                + host_header
                + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                + b'{"phone": ',
            )
        for _ in range(slow_read):
            _connect(
                stack,
                host,
                port,
                b"GET /api/schema/ HTTP/1.1\r\n" + host_header + b"\r\n",
                receive_buffer=4096,
            )
        time.sleep(1.0)  # the server has taken them all (and built the schemas)
        for path in PATHS:
            outcome, seconds = _timed_get(host, port, path, give_up)
            line = f"GET {path}: {outcome} in {seconds:.3f} s"
            print(f"slow_clients: {line}")
            if outcome != "200" or seconds > budget:
                problems.append(line)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--half-open", type=int, default=50)
    parser.add_argument("--slow-body", type=int, default=20)
    parser.add_argument("--slow-read", type=int, default=5)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds")
    args = parser.parse_args()
    url = urlsplit(args.url)
    print(
        f"slow_clients: {args.idle} idle, {args.half_open} half-open, "
        f"{args.slow_body} slow-body connections and {args.slow_read} slow readers open"
    )
    problems = check(
        url.hostname,
        url.port or 80,
        idle=args.idle,
        half_open=args.half_open,
        slow_body=args.slow_body,
        slow_read=args.slow_read,
        budget=args.budget,
    )
    for problem in problems:
        print(f"slow_clients: FAILED, beside slow clients: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
