"""Helpers for tests that race real threads against the real database.

Each racing thread holds its own database connection. A stock Postgres allows
100 connections, shared with whatever else runs on the server, so a race never
opens more than the server has free (``race_width``): the first wave of that
many threads is released together, and the rest of the racers follow as threads
come free. The invariants under test (never more than a quota, one holder) do
not depend on how many run at once, only on their running concurrently.

``live_server`` (beside this module) starts the real service, gunicorn on a
database of its own, for the jobs that drive it over HTTP.
"""

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection, connections

# Connections left alone for the test runner itself, other clients and psql.
CONNECTION_HEADROOM = 10
# Never more threads than this in one race, however roomy the server.
MAX_RACE_WIDTH = 150


def free_connections() -> int:
    """Client connections the database server can still accept (Postgres), or a
    generous number elsewhere (SQLite has no such limit).

    Asked over a connection of its own, so tests that race without touching the
    database (Redis counters) may ask too.
    """
    if connection.vendor != "postgresql":
        return MAX_RACE_WIDTH
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('max_connections')::int"
                " - (SELECT count(*) FROM pg_stat_activity"
                "    WHERE backend_type = 'client backend')"
            )
            (free,) = cursor.fetchone()
    finally:
        raw.close()
    return free


def race_width(wanted: int) -> int:
    """How many racers may run at once: ``wanted``, or fewer if the server is short."""
    return max(2, min(wanted, MAX_RACE_WIDTH, free_connections() - CONNECTION_HEADROOM))


def race[T](worker: Callable[[int], T], count: int, *, timeout: float = 120) -> list[T]:
    """Run ``worker(i)`` for i in range(count) on racing threads; the answers in order.

    ``race_width(count)`` threads run at once (their first calls released together
    by a barrier); the other calls start as threads come free. Each call has its
    own database connection (closed after it), so the database, not Python,
    decides who wins. Exceptions in a worker re-raise here.
    """
    width = race_width(count)
    barrier = threading.Barrier(width, timeout=timeout)

    def run(index: int) -> T:
        try:
            if index < width:
                barrier.wait()
            return worker(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=width) as pool:
        futures = [pool.submit(run, index) for index in range(count)]
        return [future.result(timeout=timeout) for future in futures]


class RaceCrew:
    """A fixed crew of threads that race trial after trial, each keeping its
    database connection, so hundreds of trials do not pay for new connections.
    The crew is at most ``race_width(size)`` strong; a race of more racers than
    that hands the extra calls to the crew round-robin, after the first wave.

        with RaceCrew(30) as crew:
            for trial in range(200):
                results = crew.race(worker, count=n)
    """

    def __init__(self, size: int):
        self.size = race_width(size)
        self._queues: list[queue.Queue] = [queue.Queue() for _ in range(self.size)]
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
                    if barrier is not None:
                        barrier.wait()
                    future.set_result(worker(index))
                except BaseException as exc:  # handed to the caller
                    future.set_exception(exc)
        finally:
            connections.close_all()

    def race[T](
        self, worker: Callable[[int], T], count: int, *, timeout: float = 120
    ) -> list[T]:
        barrier = threading.Barrier(min(count, self.size), timeout=timeout)
        futures = [Future() for _ in range(count)]
        for index, future in enumerate(futures):
            first_wave = barrier if index < self.size else None
            self._queues[index % self.size].put((first_wave, worker, index, future))
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
