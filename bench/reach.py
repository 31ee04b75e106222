"""What the open-loop load generator itself can do on this machine, with no
Django behind it: N customers arriving within W seconds against a trivial
asyncio HTTP server (a process of its own answering ``200 {}`` to anything).

    python -m bench.reach 30000 --within 1.0 --processes 2

It prints the generator's CPU per customer, how late it set customers off
against the schedule (its own lag), the connection errors and the time until
the last answer. Loopback only; the server's lag is in the last figures too.
"""

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

from bench.loadgen import run_open


def _serve(port: int, ready) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    async def handle(reader, writer) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("customers", type=int)
    parser.add_argument("--within", type=float, default=1.0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    from couponsite.testing.live_server import free_port

    port = free_port()
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    server = context.Process(target=_serve, args=(port, ready), daemon=True)
    server.start()
    ready.wait(10)
    tokens = Path(tempfile.mkdtemp(prefix="bench-reach-")) / "tokens.txt"
    tokens.write_text("reach\n")
    started = time.perf_counter()
    try:
        result = run_open(
            {
                "host": "127.0.0.1",
                "port": port,
                "method": "GET",
                "path": "/",
                "tokens_file": str(tokens),
                "limit": 1,
                "total": args.customers,
                "timeout": 59.0,
                "max_seconds": 60,
                "arrivals": {
                    "mode": "open",
                    "within": args.within,
                    "processes": args.processes,
                },
            }
        )
    finally:
        server.kill()
    arrivals = result["arrivals"]
    cpu = sum(arrivals["loadgen_cpu_seconds_by_process"])
    print(
        json.dumps(
            {
                "customers": args.customers,
                "within_seconds": args.within,
                "processes": args.processes,
                "answered": result["answered"],
                "connection_errors": arrivals["connection_errors"],
                "last_answer_seconds": result["last_answer_seconds"],
                "p50_ms_from_arrival": result["p50_ms"],
                "p99_ms_from_arrival": result["p99_ms"],
                "set_off_late_p50_ms": arrivals["set_off_late_p50_ms"],
                "set_off_late_p99_ms": arrivals["set_off_late_p99_ms"],
                "loadgen_cpu_seconds_by_process": arrivals[
                    "loadgen_cpu_seconds_by_process"
                ],
                "loadgen_system_cpu_seconds": arrivals["loadgen_system_cpu_seconds"],
                "loadgen_cpu_us_per_customer": round(cpu / args.customers * 1e6),
                "wall_seconds": round(time.perf_counter() - started, 2),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
