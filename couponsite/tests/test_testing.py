"""The race helpers stay within the connections the server has free."""

import threading

import pytest
from django.db import connection

from couponsite import testing
from couponsite.testing import RaceCrew, free_connections, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _counting_worker():
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def work(index: int) -> int:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            with connection.cursor() as cursor:  # holds a real connection
                cursor.execute("SELECT pg_sleep(0.01)")
            return index
        finally:
            with lock:
                state["now"] -= 1

    return work, state


def test_free_connections_counts_what_the_server_has_left():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        (limit,) = cursor.fetchone()
    assert 0 < free_connections() < int(limit)


def test_a_race_wider_than_the_server_runs_in_waves_and_answers_in_order(monkeypatch):
    # given a server that has only 16 connections free
    monkeypatch.setattr(testing, "free_connections", lambda: 16 + 10)
    work, state = _counting_worker()

    # when 200 racers race
    answers = race(work, 200)

    # then all ran, in order, and never more than 16 at once (but 16 at the start)
    assert answers == list(range(200))
    assert state["most"] == 16


def test_a_crew_is_no_wider_than_the_server_and_still_runs_every_racer(monkeypatch):
    monkeypatch.setattr(testing, "free_connections", lambda: 8 + 10)
    work, state = _counting_worker()

    with RaceCrew(24) as crew:
        answers = crew.race(work, 24)

    assert crew.size == 8
    assert answers == list(range(24))
    assert state["most"] == 8
