"""Helpers for tests that race real threads against the real database."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def race[T](worker: Callable[[int], T], count: int, *, timeout: float = 120) -> list[T]:
    """Run ``worker(i)`` for i in range(count) in as many threads, released together.

    Each thread has its own database connection (closed at the end), so the
    database, not Python, decides who wins. Exceptions in a worker re-raise here.
    """
    barrier = threading.Barrier(count, timeout=timeout)

    def run(index: int) -> T:
        try:
            barrier.wait()
            return worker(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run, index) for index in range(count)]
        return [future.result(timeout=timeout) for future in futures]
