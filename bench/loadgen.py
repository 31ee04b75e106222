"""A lean asyncio HTTP/1.1 load generator, run as its own process.

    python -m bench.loadgen PLAN.json RESULT.json

The plan names the target (127.0.0.1 only), the concurrency, and the requests:
one per token in a tokens file (optionally repeated), with a method, a path and
an optional JSON body. gunicorn's sync workers close the connection after each
answer, so every request opens a fresh loopback connection, as wrk does there.

It records each request's latency, status and (for errors) the body's ``code``,
and reports its own CPU time so the reader can see it was not the bottleneck.
"""

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ALLOWED_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _request_bytes(method: str, path: str, token: str, body: bytes | None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        "Connection: close",
        "Accept: application/json",
    ]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _send(
    host: str, port: int, payload: bytes, timeout: float
) -> tuple[int, bytes]:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port), timeout
    )
    try:
        writer.write(payload)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = (
            await asyncio.wait_for(reader.readexactly(length), timeout)
            if length
            else b""
        )
        return status, body
    finally:
        writer.close()


def _error_code(status: int, body: bytes) -> str:
    if status < 400:
        return ""
    try:
        return json.loads(body).get("code", "?")
    except (ValueError, AttributeError):
        return "?"


async def _run(plan: dict) -> dict:
    host, port = plan["host"], plan["port"]
    if host not in ALLOWED_HOSTS:
        raise SystemExit(f"refusing to load anything but loopback, not {host!r}")
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
        _request_bytes(plan["method"], plan["path"], token, body)
        for _ in range(plan.get("repeat", 1))
        for token, body in zip(tokens, bodies, strict=False)
    ]
    if plan.get("total"):  # a fixed number of requests, cycling through the tokens
        payloads = [payloads[i % len(payloads)] for i in range(plan["total"])]
    deadline = time.monotonic() + plan.get("max_seconds", 120)
    timeout = plan.get("timeout", 10.0)
    latencies: list[float] = []
    statuses: Counter = Counter()
    codes: Counter = Counter()
    failures = Counter()
    queue = iter(payloads)

    async def worker() -> None:
        for payload in queue:
            if time.monotonic() > deadline:
                failures["deadline"] += 1
                continue
            started = time.perf_counter()
            try:
                status, answer = await _send(host, port, payload, timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                failures[type(exc).__name__] += 1
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if code := _error_code(status, answer):
                codes[code] += 1

    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(plan.get("concurrency", 32))))
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
        "throughput": round(len(latencies) / wall, 1) if wall else None,
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "error_codes": dict(codes.most_common()),
        "loadgen_cpu_seconds": round(cpu, 3),
        "loadgen_cpu_share": round(cpu / wall, 3) if wall else None,
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(_run(plan))
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
