"""Helpers for tests that race real threads against the real database."""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

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


class RaceCrew:
    """A fixed crew of threads that race trial after trial, each keeping its
    database connection, so hundreds of trials do not pay for new connections.

        with RaceCrew(30) as crew:
            for trial in range(200):
                results = crew.race(worker, count=n)
    """

    def __init__(self, size: int):
        self.size = size
        self._queues: list[queue.Queue] = [queue.Queue() for _ in range(size)]
        self._threads = [
            threading.Thread(target=self._serve, args=(q,), daemon=True)
            for q in self._queues
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _serve(tasks: queue.Queue) -> None:
        try:
            while (task := tasks.get()) is not None:
                barrier, worker, index, future = task
                try:
                    barrier.wait()
                    future.set_result(worker(index))
                except BaseException as exc:  # handed to the caller
                    future.set_exception(exc)
        finally:
            connections.close_all()

    def race[T](
        self, worker: Callable[[int], T], count: int, *, timeout: float = 120
    ) -> list[T]:
        if count > self.size:
            raise ValueError(f"crew of {self.size} cannot race {count}")
        barrier = threading.Barrier(count, timeout=timeout)
        futures = [Future() for _ in range(count)]
        for index, future in enumerate(futures):
            self._queues[index].put((barrier, worker, index, future))
        return [future.result(timeout=timeout) for future in futures]

    def close(self) -> None:
        for tasks in self._queues:
            tasks.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def __enter__(self) -> "RaceCrew":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
