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

Open-loop arrivals (``"arrivals": {"mode": "open", ...}`` in the plan) replace the
looping clients by customers who arrive on a schedule whatever the server's pace:
all within ``within`` seconds (evenly), or over a ``ramp`` of that many seconds
(the arrival rate growing linearly from 0). Each customer opens a connection of
its own at its arrival time, sends its one request with ``Connection: close`` and
waits for the answer at most ``timeout`` seconds from its arrival (and never past
the phase's ``max_seconds``). Its latency is measured from its scheduled arrival,
not from when its socket connected, so a queue anywhere (the generator's own
lateness included) shows. The customers are shared among ``processes`` load
generator processes (each on its own loopback source address, so that 30,000
connections in flight find source ports), each raising its open-file limit up to
the hard limit; the result says when that limit caps how many connections it may
hold at once (customers then wait for a free one, the wait counted). Connection
errors are told apart: refused, reset, timed out (``classify``).
"""

import asyncio
import errno
import json
import math
import os
import resource
import socket
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ALLOWED_HOSTS = {"127.0.0.1", "localhost", "::1"}


# Every request's Accept-Language (none when unset): BENCH_ACCEPT_LANGUAGE=zh-TW
# measures the answers in Chinese.
ACCEPT_LANGUAGE = os.environ.get("BENCH_ACCEPT_LANGUAGE", "")


class _NothingRead(Exception):
    """The connection failed before a byte of the answer arrived."""


def _request_bytes(
    method: str,
    path: str,
    token: str,
    body: bytes | None,
    keep_alive: bool = False,
    idempotency_key: str | None = None,
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
    ]
    if idempotency_key:
        lines.append(f"Idempotency-Key: {idempotency_key}")
    if not keep_alive:  # HTTP/1.1 connections persist unless a side says close
        lines.append("Connection: close")
    lines.append("Accept: application/json")
    if ACCEPT_LANGUAGE:
        lines.append(f"Accept-Language: {ACCEPT_LANGUAGE}")
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


def _allow_files(count: int) -> tuple[int, int]:
    """Raise this process's open-file limit (soft, up to the hard one) to ``count``;
    the (soft, hard) limits it then has (-1: unlimited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return soft, hard


def idempotency_keys(plan: dict) -> dict[int, str]:
    """The ``Idempotency-Key`` of each listed token's request: the plan's
    ``idempotency_keys`` (token indices) mapped to ``idempotency_prefix`` and the
    index; the other tokens' requests carry none."""
    prefix = plan.get("idempotency_prefix", "bench-")
    return {index: f"{prefix}{index}" for index in plan.get("idempotency_keys") or ()}


def _payloads(plan: dict, keep_alive: bool) -> list[bytes]:
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
    keys = idempotency_keys(plan)
    payloads = [
        _request_bytes(
            plan["method"],
            plan["path"],
            token,
            body,
            keep_alive,
            keys.get(index),
        )
        for _ in range(plan.get("repeat", 1))
        for index, (token, body) in enumerate(zip(tokens, bodies, strict=False))
    ]
    if plan.get("total"):  # a fixed number of requests, cycling through the tokens
        payloads = [payloads[i % len(payloads)] for i in range(plan["total"])]
    return payloads


def percentile(values: list[float], p: float) -> float | None:
    """The ``p`` quantile of sorted ``values`` (seconds), in milliseconds."""
    if not values:
        return None
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2)


async def _run(plan: dict) -> dict:
    host, port = plan["host"], plan["port"]
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"refusing to load anything but loopback, not {host!r}")
    keep_alive = bool(plan.get("keep_alive"))
    concurrency = plan.get("concurrency", 32)
    _allow_files(concurrency + 64)
    payloads = _payloads(plan, keep_alive)
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

    return {
        "requests": len(payloads),
        "answered": len(latencies),
        "unanswered": dict(failures),
        "seconds": round(wall, 3),
        "last_answer_seconds": (
            round(max(t for t, _ in answers) - started_at, 3) if answers else None
        ),
        "throughput": round(len(latencies) / wall, 1) if wall else None,
        **latency_figures(latencies),
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


# --- open-loop arrivals -------------------------------------------------------------

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux
# Files a load-generator process keeps for itself (stdio, the event loop, imports).
SPARE_FILES = 64
# Connection errors by kind; anything else is named by its errno.
REFUSED, RESET, TIMED_OUT = "refused", "reset", "timed_out"


def latency_figures(latencies: list[float]) -> dict:
    """p50, p95, p99 and the longest of sorted latencies (seconds), in ms."""
    return {
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
    }


def arrival_offsets(
    count: int, *, within: float | None = None, ramp: float | None = None
) -> list[float]:
    """Seconds after the phase's start at which each of ``count`` customers arrives:
    evenly spread ``within`` seconds, or over a ``ramp`` of that many seconds whose
    arrival rate grows linearly from 0 (customer i arrives at ramp * sqrt(i / count),
    so that by time t, count * (t / ramp)^2 have arrived). The first arrives at 0,
    every one before the end of the window."""
    if count <= 0:
        return []
    if ramp:
        return [ramp * math.sqrt(i / count) for i in range(count)]
    return [(within or 0.0) * i / count for i in range(count)]


def classify(exc: BaseException) -> str:
    """The kind of a customer's failure to get an answer: ``refused`` (nothing
    listens, or the listen queue turned it away), ``reset`` (the connection dropped
    before a whole answer), ``timed_out`` (no answer within the customer's
    patience, connecting included), or the errno's name (``EMFILE``: out of file
    descriptors; ``EADDRNOTAVAIL``: out of source ports)."""
    if isinstance(exc, _NothingRead) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(
        exc,
        (
            ConnectionResetError,
            ConnectionAbortedError,
            BrokenPipeError,
            asyncio.IncompleteReadError,
            _NothingRead,
        ),
    ):
        return RESET
    if isinstance(exc, TimeoutError):
        return TIMED_OUT
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.ETIMEDOUT:
            return TIMED_OUT
        if exc.errno == errno.ECONNREFUSED:
            return REFUSED
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            return RESET
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


def latencies_from_arrival(records: list[tuple]) -> list[float]:
    """Sorted seconds from each answered customer's scheduled arrival to its answer;
    ``records`` are (arrival, answered at or None, status or None, ...)."""
    return sorted(answered - arrival for arrival, answered, *_ in records if answered)


def _source_address(process: int) -> str:
    """Process n's loopback source address (127.0.0.2, 127.0.0.3, ...): each has
    its own ~28,000 source ports towards the one server address."""
    return f"127.0.0.{2 + process % 250}"


def parse_answer(data: bytes, *, ended: bool = False) -> tuple[int, bytes] | None:
    """(status, body) of the HTTP/1.1 answer in ``data``, or None while it is not
    whole; ``ended``: the server closed the connection after ``data``."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    status_line, *header_lines = data[:head_end].split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    rest = data[head_end + 4 :]
    if b"content-length" in headers:
        length = int(headers[b"content-length"])
        return (status, rest[:length]) if len(rest) >= length else None
    if status in (204, 304) or status < 200:
        return status, b""
    if not ended:  # chunked, or a body that ends with the connection
        return None
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        body = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body, rest = body + rest[:size], rest[size + 2 :]
        return status, body
    return status, rest


async def _one_customer(
    host: str, port: int, payload: bytes, source: str | None
) -> tuple[int, bytes]:
    """One request on a socket of its own, read until the answer is whole: the
    event loop's socket calls, without streams (a third of the generator's CPU
    per customer)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setblocking(False)
    try:
        if source:
            # The source port is chosen at connect() (for the 4-tuple), not at
            # bind(), whose search for a port free on every address grows costly
            # with thousands held.
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((source, 0))
        await loop.sock_connect(
            sock, ("127.0.0.1" if host == "localhost" else host, port)
        )
        await loop.sock_sendall(sock, payload)
        data = b""
        while chunk := await loop.sock_recv(sock, 65536):
            data += chunk
            if (answer := parse_answer(data)) is not None:
                return answer
        if not data:
            raise _NothingRead
        if (answer := parse_answer(data, ended=True)) is None:
            raise asyncio.IncompleteReadError(data, None)
        return answer
    finally:
        sock.close()


async def _open_share(share: dict) -> dict:
    """One process's customers: each arrives at ``start + offset`` (time.monotonic,
    shared by every process of the machine), connects, asks, waits."""
    host, port = share["host"], share["port"]
    source = share.get("source")
    customers: list[tuple[float, bytes]] = share["customers"]
    soft, hard = _allow_files(len(customers) + SPARE_FILES)
    room = max(1, soft - SPARE_FILES) if soft != resource.RLIM_INFINITY else None
    capped = room is not None and room < len(customers)
    slots = asyncio.Semaphore(room) if capped else None
    start, timeout = share["start"], share["timeout"]
    deadline = start + share["max_seconds"]
    loop = asyncio.get_running_loop()
    records: list[tuple] = []  # (arrival, answered at, status, code or error kind)
    late: list[float] = []  # how late the customer set off, seconds

    async def customer(arrival: float, payload: bytes) -> None:
        late.append(loop.time() - arrival)
        give_up = min(arrival + timeout, deadline)
        try:
            async with asyncio.timeout_at(give_up):
                if slots is not None:
                    async with slots:
                        status, body = await _one_customer(host, port, payload, source)
                else:
                    status, body = await _one_customer(host, port, payload, source)
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            _NothingRead,
        ) as exc:
            records.append((arrival, None, None, classify(exc)))
            return
        records.append((arrival, loop.time(), status, _error_code(status, body)))

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    tasks = []
    for offset, payload in customers:  # in order of arrival
        arrival = start + offset
        if arrival >= deadline:
            records.append((arrival, None, None, "deadline"))
            continue
        if (wait := arrival - loop.time()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(customer(arrival, payload)))
    await asyncio.gather(*tasks)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "records": records,
        "late": late,
        "cpu_seconds": (cpu_after.ru_utime - cpu_before.ru_utime)
        + (cpu_after.ru_stime - cpu_before.ru_stime),
        "system_cpu_seconds": cpu_after.ru_stime - cpu_before.ru_stime,
        "files": {"soft": soft, "hard": hard, "needed": len(customers) + SPARE_FILES},
        "capped_by_file_limit": capped,
        "source": source,
    }


def _run_share(share: dict) -> dict:
    return asyncio.run(_open_share(share))


def run_open(plan: dict) -> dict:
    """Open-loop arrivals (see the module's doc): every customer of the plan
    arrives on the schedule; the same result keys as the closed loop, latencies
    from arrival, plus ``arrivals`` (the schedule, connection errors by kind, the
    generator's own lateness and CPU, its file limits)."""
    host, port = plan["host"], plan["port"]
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"refusing to load anything but loopback, not {host!r}")
    arrivals = plan["arrivals"]
    payloads = _payloads(plan, keep_alive=False)
    offsets = arrival_offsets(
        len(payloads), within=arrivals.get("within"), ramp=arrivals.get("ramp")
    )
    processes = max(1, min(int(arrivals.get("processes") or 1), len(payloads) or 1))
    timeout = plan.get("timeout", 60.0)
    max_seconds = plan.get("max_seconds", 120)
    # Time for the processes to start before the first arrival.
    start = time.monotonic() + 0.3 + 0.05 * processes
    shares = [
        {
            "host": host,
            "port": port,
            "source": _source_address(n) if host == "127.0.0.1" else None,
            # Every process-th customer: each process's arrivals span the window.
            "customers": list(
                zip(offsets[n::processes], payloads[n::processes], strict=True)
            ),
            "start": start,
            "timeout": timeout,
            "max_seconds": max_seconds,
        }
        for n in range(processes)
    ]
    wall_started = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        done = list(pool.map(_run_share, shares))
    wall = time.perf_counter() - wall_started
    records = [record for part in done for record in part["records"]]
    latencies = latencies_from_arrival(records)
    answered = [(at, status) for _, at, status, _ in records if at is not None]
    statuses = Counter(status for _, status in answered)
    codes = Counter(code for _, at, _, code in records if at is not None and code)
    errors = Counter(kind for _, at, _, kind in records if at is None)
    late = sorted(t for part in done for t in part["late"])
    cpu = [round(part["cpu_seconds"], 3) for part in done]
    phase_seconds = (max(at for at, _ in answered) - start) if answered else None
    return {
        "requests": len(payloads),
        "answered": len(answered),
        "unanswered": dict(errors),
        "seconds": round(wall, 3),
        "last_answer_seconds": round(phase_seconds, 3) if answered else None,
        "throughput": round(len(answered) / phase_seconds, 1)
        if phase_seconds
        else None,
        **latency_figures(latencies),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "error_codes": dict(codes.most_common()),
        "connections": {
            "clients": len(payloads),
            "keep_alive": False,
            "opened": len(payloads) - errors.get("deadline", 0),
            "closed_by_server": 0,
            "stale_retries": 0,
        },
        "arrivals": {
            "mode": "open",
            "customers": len(payloads),
            **(
                {"ramp_seconds": arrivals["ramp"]}
                if arrivals.get("ramp")
                else {"within_seconds": arrivals.get("within") or 0.0}
            ),
            "timeout_seconds": timeout,
            "connection_errors": {
                REFUSED: errors.get(REFUSED, 0),
                RESET: errors.get(RESET, 0),
                TIMED_OUT: errors.get(TIMED_OUT, 0),
                **{
                    kind: n
                    for kind, n in errors.items()
                    if kind not in (REFUSED, RESET, TIMED_OUT)
                },
            },
            "latency_from": "scheduled arrival",
            # How late the generator set each customer off: near 0 when it kept
            # to the schedule, whatever the server did.
            "set_off_late_p50_ms": percentile(late, 0.50),
            "set_off_late_p99_ms": percentile(late, 0.99),
            "set_off_late_max_ms": round(late[-1] * 1000, 2) if late else None,
            "processes": processes,
            "loadgen_cpu_seconds_by_process": cpu,
            "loadgen_system_cpu_seconds": round(
                sum(part["system_cpu_seconds"] for part in done), 3
            ),
            "file_limits": [part["files"] for part in done],
            "capped_by_file_limit": any(part["capped_by_file_limit"] for part in done),
        },
        "loadgen_cpu_seconds": round(sum(cpu), 3),
        "loadgen_cpu_share": round(sum(cpu) / wall, 3) if wall else None,
        "started_monotonic": start,
        "answer_times": [[round(t, 4), status] for t, status in sorted(answered)],
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    if (plan.get("arrivals") or {}).get("mode") == "open":
        result = run_open(plan)
    else:
        result = asyncio.run(_run(plan))
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
