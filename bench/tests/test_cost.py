"""The cost figures: CPU per answer, per kind of answer, and whose CPU it is."""

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from bench.scenarios import (
    CpuMeter,
    Parties,
    cost_by_answer,
    cpu_by_process,
    cpu_ms_per,
    postgres_role,
)


def test_cpu_ms_per_answer_of_each_party():
    spent = {"gunicorn": 3.0, "postgres": 0.6, "redis": 0.15}

    assert cpu_ms_per(spent, 2_000) == {
        "gunicorn": 1.5,
        "postgres": 0.3,
        "redis": 0.075,
    }
    assert cpu_ms_per(spent, 0) is None


def rush_like_phase():
    """A grab phase sampled every second: for 3 s only winners are answered (100 a
    second, 10 ms of app CPU and 2 ms of Postgres each), then only sold-out
    refusals (1,000 a second, 0.2 ms of app CPU and nothing of Postgres each)."""
    samples, answers = [], []
    cpu = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
    for second in range(10):
        samples.append((100.0 + second, dict(cpu)))
        if second < 3:
            answers += [(100.0 + second + (n + 1) / 100, 201) for n in range(100)]
            cpu["gunicorn"] += 1.0
            cpu["postgres"] += 0.2
        else:
            answers += [(100.0 + second + (n + 1) / 1000, 409) for n in range(1000)]
            cpu["gunicorn"] += 0.2
        cpu["redis"] += 0.1
    samples.append((110.0, dict(cpu)))
    return samples, answers


def test_cost_of_winners_and_of_refusals_from_the_stretches_of_one_kind():
    samples, answers = rush_like_phase()

    found = cost_by_answer(samples, answers, started=100.0)

    winners, losers = found["before_first_refusal"], found["after_last_success"]
    assert winners["statuses"] == {"201": 300}
    assert (winners["from_second"], winners["to_second"]) == (0.0, 3.0)
    assert winners["cpu_ms_per_answer"] == pytest.approx(
        {"gunicorn": 10.0, "postgres": 2.0, "redis": 1.0}
    )
    assert losers["statuses"] == {"409": 7_000}
    assert (losers["from_second"], losers["to_second"]) == (3.0, 10.0)
    assert losers["cpu_ms_per_answer"] == pytest.approx(
        {"gunicorn": 0.2, "postgres": 0.0, "redis": 0.1}
    )


def test_no_stretches_when_a_phase_gives_one_kind_of_answer_or_too_few():
    samples, answers = rush_like_phase()
    winners_only = [(t, status) for t, status in answers if status == 201]

    assert cost_by_answer(samples, winners_only, started=100.0) == {}
    assert set(cost_by_answer(samples, answers, 100.0, min_answers=1_000)) == {
        "after_last_success"
    }


@pytest.mark.parametrize(
    ("title", "role"),
    [
        (
            "postgres: 15/main: postgres cs_bench 127.0.0.1(51150) idle",
            ("cs_bench", None),
        ),
        ("postgres: postgres other [local] SELECT", ("other", None)),
        ("postgres: 15/main: walwriter", (None, None)),
        ("postgres: 15/main: autovacuum worker cs_bench", ("cs_bench", None)),
        ("postgres: 15/main: parallel worker for PID 4242", (None, 4242)),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql", (None, None)),
    ],
)
def test_postgres_processes_are_told_apart_by_database(title, role):
    assert postgres_role(title) == role


def test_the_meter_keeps_the_cpu_of_a_process_that_exited():
    # This process stands for gunicorn's master: its children are "gunicorn".
    meter = CpuMeter(Parties(server_pid=os.getpid(), database="none", redis_port=1))
    meter.sample()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "end = time.process_time() + 0.3\n"
            "while time.process_time() < end: pass\n"
            "time.sleep(30)",
        ]
    )
    try:
        deadline = time.monotonic() + 20
        while meter.sample()["gunicorn"] < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()

    spent = meter.sample()

    assert spent["gunicorn"] >= 0.3
    assert spent["redis"] == 0  # no redis-server on port 1


@pytest.mark.postgres
def test_backends_of_other_databases_are_not_counted(db):
    # given a backend of the test database: this test's own connection
    with connection.cursor() as cursor:
        backend = cursor.connection.info.backend_pid
    database = connection.settings_dict["NAME"]

    ours = cpu_by_process(Parties(server_pid=os.getpid(), database=database))
    others = cpu_by_process(Parties(server_pid=os.getpid(), database="not_this"))

    assert ours[backend][0] == "postgres"
    assert backend not in others
    assert any(party == "postgres" for party, _ in others.values())  # shared ones


def test_each_process_of_a_topology_is_a_party_of_its_own():
    # This process stands for gunicorn's master, a second one for HAProxy: each
    # party gets its own processes' CPU; redis-servers on other ports are none.
    proxy = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        parties = Parties(
            server_pid=os.getpid(),
            database="none",
            more={"haproxy": proxy.pid},
            redis_ports=(1, 2),
        )
        found = cpu_by_process(parties)
    finally:
        proxy.kill()
        proxy.wait()

    assert found[os.getpid()][0] == "gunicorn"
    assert found[proxy.pid][0] == "haproxy"
    assert parties.names() == ("gunicorn", "haproxy", "postgres", "redis:1", "redis:2")
    assert not any(party.startswith("redis") for party, _ in found.values())
