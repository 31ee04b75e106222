"""A lean asyncio HTTP/1.1 load generator, run as its own process.

    python -m bench.loadgen PLAN.json RESULT.json

The plan names the target (127.0.0.1 only), the number of connections
(``concurrency``), and the requests: one per token in a tokens file (optionally
repeated), with a method, a path and an optional JSON body. Each request is sent
once; ``concurrency`` clients take the next one from the list as soon as they
have their answer.

Two shapes of connection:

- by default (``keep_alive`` false) every request opens a fresh loopback
  connection and says ``Connection: close``, as wrk does against gunicorn's sync
  workers, which close the connection after each answer anyway;
- with ``keep_alive`` each client holds one persistent HTTP/1.1 connection and
  sends its requests over it one after the other. When the server closes it (a
  sync worker always does, after its answer), the next request opens a new one;
  the result counts the connections opened and how many the server closed. A
  request that finds its reused connection already closed by the server (an idle
  timeout; nothing of an answer read) is sent once more on a fresh connection and
  counted as ``stale_retries``.

It records each request's latency (connecting included, when the request had to
connect), status, the moment of the answer, and (for errors) the body's
``code``, and reports its own CPU time so the reader can see it was not the
bottleneck.
"""

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ALLOWED_HOSTS = {"127.0.0.1", "localhost", "::1"}


class _NothingRead(Exception):
    """The connection failed before a byte of the answer arrived."""


def _request_bytes(
    method: str, path: str, token: str, body: bytes | None, keep_alive: bool = False
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
    ]
    if not keep_alive:  # HTTP/1.1 connections persist unless a side says close
        lines.append("Connection: close")
    lines.append("Accept: application/json")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_answer(
    reader: asyncio.StreamReader, timeout: float
) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 answer: (status, body, whether the server closes the connection
    after it)."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _NothingRead from exc
        raise
    except ConnectionError as exc:
        raise _NothingRead from exc
    status_line, *header_lines = head[:-4].split(b"\r\n")
    version, status = status_line.split(b" ", 2)[:2]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    connection = headers.get(b"connection", b"")
    closes = b"close" in connection or (
        version == b"HTTP/1.0" and b"keep-alive" not in connection
    )
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        body = await asyncio.wait_for(_read_chunks(reader), timeout)
    elif b"content-length" in headers:
        length = int(headers[b"content-length"])
        body = (
            await asyncio.wait_for(reader.readexactly(length), timeout)
            if length
            else b""
        )
    elif int(status) in (204, 304) or int(status) < 200:
        body = b""
    else:  # the body ends with the connection
        body = await asyncio.wait_for(reader.read(), timeout)
        closes = True
    return int(status), body, closes


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent to us
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def _send(
    host: str, port: int, payload: bytes, timeout: float
) -> tuple[int, bytes]:
    """One request on a connection of its own."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port), timeout
    )
    try:
        writer.write(payload)
        status, body, _ = await _read_answer(reader, timeout)
        return status, body
    except _NothingRead as exc:
        raise exc.__cause__ from None
    finally:
        writer.close()


class _KeptConnection:
    """One client's persistent connection, opened when needed."""

    def __init__(self, host: str, port: int, timeout: float, counts: Counter):
        self.host, self.port, self.timeout, self.counts = host, port, timeout, counts
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, payload: bytes) -> tuple[int, bytes]:
        reused = self.writer is not None
        if not reused:
            await self._open()
        try:
            self.writer.write(payload)
            status, body, closes = await _read_answer(self.reader, self.timeout)
        except _NothingRead as exc:
            self.close()
            self.counts["closed_by_server"] += 1
            if not reused:
                raise exc.__cause__ from None
            # Not a byte of an answer on a connection that had served before: the
            # server dropped it while idle (its keep-alive timeout), so the request
            # went unread. Sent once more, on a fresh connection, and counted.
            self.counts["stale_retries"] += 1
            return await self.send(payload)
        except BaseException:
            self.close()
            raise
        if closes:
            self.close()
            self.counts["closed_by_server"] += 1
        return status, body

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )
        self.counts["opened"] += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _error_code(status: int, body: bytes) -> str:
    if status < 400:
        return ""
    try:
        return json.loads(body).get("code", "?")
    except (ValueError, AttributeError):
        return "?"


def _allow_files(count: int) -> None:
    """Raise this process's open-file limit (soft, up to the hard one) to ``count``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def _run(plan: dict) -> dict:
    host, port = plan["host"], plan["port"]
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"refusing to load anything but loopback, not {host!r}")
    keep_alive = bool(plan.get("keep_alive"))
    concurrency = plan.get("concurrency", 32)
    _allow_files(concurrency + 64)
    tokens = Path(plan["tokens_file"]).read_text().split()[: plan.get("limit") or None]
    if plan.get("bodies_file"):  # one JSON body per line, matching the tokens
        bodies = [
            line.encode() for line in Path(plan["bodies_file"]).read_text().splitlines()
        ]
    else:
        body = (
            json.dumps(plan["body"]).encode() if plan.get("body") is not None else None
        )
        bodies = [body] * len(tokens)
    payloads = [
        _request_bytes(plan["method"], plan["path"], token, body, keep_alive)
        for _ in range(plan.get("repeat", 1))
        for token, body in zip(tokens, bodies, strict=False)
    ]
    if plan.get("total"):  # a fixed number of requests, cycling through the tokens
        payloads = [payloads[i % len(payloads)] for i in range(plan["total"])]
    deadline = time.monotonic() + plan.get("max_seconds", 120)
    timeout = plan.get("timeout", 10.0)
    latencies: list[float] = []
    answers: list[tuple[float, int]] = []  # (time.monotonic() of the answer, status)
    statuses: Counter = Counter()
    codes: Counter = Counter()
    failures = Counter()
    connection_counts: Counter = Counter()
    queue = iter(payloads)

    async def worker() -> None:
        kept = (
            _KeptConnection(host, port, timeout, connection_counts)
            if keep_alive
            else None
        )
        try:
            for payload in queue:
                if time.monotonic() > deadline:
                    failures["deadline"] += 1
                    continue
                started = time.perf_counter()
                try:
                    if kept is not None:
                        status, answer = await kept.send(payload)
                    else:
                        connection_counts["opened"] += 1
                        status, answer = await _send(host, port, payload, timeout)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    failures[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                answers.append((time.monotonic(), status))
                statuses[status] += 1
                if code := _error_code(status, answer):
                    codes[code] += 1
        finally:
            if kept is not None:
                kept.close()

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started_at = time.monotonic()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )

    latencies.sort()

    def percentile(p: float) -> float | None:
        if not latencies:
            return None
        return round(
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2
        )

    return {
        "requests": len(payloads),
        "answered": len(latencies),
        "unanswered": dict(failures),
        "seconds": round(wall, 3),
        "last_answer_seconds": (
            round(max(t for t, _ in answers) - started_at, 3) if answers else None
        ),
        "throughput": round(len(latencies) / wall, 1) if wall else None,
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "error_codes": dict(codes.most_common()),
        "connections": {
            "clients": concurrency,
            "keep_alive": keep_alive,
            "opened": connection_counts["opened"],
            "closed_by_server": connection_counts["closed_by_server"],
            "stale_retries": connection_counts["stale_retries"],
        },
        "loadgen_cpu_seconds": round(cpu, 3),
        "loadgen_cpu_share": round(cpu / wall, 3) if wall else None,
        # For the caller to line answers up with CPU samples (same clock, any
        # process of this machine); too long to keep in a report.
        "started_monotonic": started_at,
        "answer_times": [[round(t, 4), status] for t, status in sorted(answers)],
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(_run(plan))
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
