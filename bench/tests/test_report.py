"""The report the bench writes: cost per request beside speed, the cost of each kind
of answer, and a docs section per load shape."""

from bench.scenarios import markdown, write_docs

GRAB = {
    "requests": 30_000,
    "answered": 30_000,
    "throughput": 858.0,
    "ratio_to_baseline": 0.59,
    "last_answer_seconds": 35.0,
    "p50_ms": 221.0,
    "p95_ms": 700.0,
    "p99_ms": 922.0,
    "statuses": {"201": 6_000, "409": 24_000},
    "error_codes": {"SOLD_OUT": 24_000},
    "server_cpu_seconds": {"gunicorn": 46.5, "postgres": 4.8, "redis": 3.6},
    "cpu_ms_per_request": {"gunicorn": 1.55, "postgres": 0.16, "redis": 0.12},
    "connections": {
        "clients": 300,
        "keep_alive": True,
        "opened": 30_000,
        "closed_by_server": 30_000,
        "stale_retries": 0,
    },
    "cost_by_answer": {
        "before_first_refusal": {
            "from_second": 0.0,
            "to_second": 9.8,
            "answers": 5_900,
            "statuses": {"201": 5_900},
            "server_cpu_seconds": {"gunicorn": 20.6, "postgres": 4.1, "redis": 0.9},
            "cpu_ms_per_answer": {"gunicorn": 3.5, "postgres": 0.7, "redis": 0.15},
        },
        "after_last_success": {
            "from_second": 10.2,
            "to_second": 35.0,
            "answers": 23_800,
            "statuses": {"409": 23_800},
            "server_cpu_seconds": {"gunicorn": 24.0, "postgres": 0.5, "redis": 2.6},
            "cpu_ms_per_answer": {"gunicorn": 1.008, "postgres": 0.021, "redis": 0.11},
        },
    },
    "loadgen_cpu_share": 0.22,
}


def report(keep_alive: bool = True) -> dict:
    return {
        "machine": {
            "cores": 2,
            "cpu": "AMD EPYC",
            "memory_gib": 23.5,
            "python": "3.13.0",
            "postgres": "psql 15",
            "redis": "Redis 7",
        },
        "started": "2026-11-30T00:00:00Z",
        "load": {"connections": 300, "keep_alive": keep_alive},
        "scenarios": {
            "rush-30000": {"phases": {"grab": GRAB}, "correctness": {"oversold": 0}}
        },
    }


def cells(table: str, first_cell: str) -> list[str]:
    """The cells of the first row of ``table`` that starts with ``first_cell``."""
    row = next(
        line for line in table.splitlines() if line.startswith(f"| {first_cell} |")
    )
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_each_phase_shows_cpu_per_request_of_app_postgres_and_redis_beside_speed():
    table = markdown(report())

    header = cells(table, "scenario / phase")
    row = dict(zip(header, cells(table, "rush-30000 / grab"), strict=True))
    assert row["req/s"] == "858.0"
    assert row["p99 ms"] == "922.0"
    assert row["last answer s"] == "35.0"
    assert row["statuses"] == "201: 6,000, 409: 24,000"
    assert row["app CPU ms/req"] == "1.55"
    assert row["Postgres CPU ms/req"] == "0.160"
    assert row["Redis CPU ms/req"] == "0.120"
    assert row["connections opened"] == "30,000"
    assert "Load: 300 clients, each on a keep-alive connection" in table


def test_a_mixed_phase_shows_the_cost_of_each_kind_of_answer():
    table = markdown(report())
    rows = [
        line
        for line in table.splitlines()
        if line.startswith("| rush-30000 / grab | only")
    ]

    assert [cells(row, "rush-30000 / grab") for row in rows] == [
        [
            "rush-30000 / grab",
            "only successes answered, 0.0 to 9.8 s",
            "201: 5,900",
            "3.50",
            "0.700",
            "0.150",
            "-",
        ],
        [
            "rush-30000 / grab",
            "only refusals answered, 10.2 to 35.0 s",
            "409: 23,800",
            "1.01",
            "0.021",
            "0.110",
            "-",
        ],
    ]


def test_each_load_shape_keeps_its_own_section_of_the_docs(tmp_path):
    docs = tmp_path / "performance.md"
    docs.write_text(
        "# Performance\n\nprose\n\n<!-- bench:start -->\nold\n<!-- bench:end -->\n"
    )

    write_docs(report(keep_alive=True), "keep-alive table", docs)
    write_docs(report(keep_alive=False), "default table", docs)
    write_docs(report(keep_alive=True), "newer keep-alive table", docs)

    text = docs.read_text()
    assert "prose" in text and "old" not in text
    assert text.count("<!-- bench:start -->") == 1
    assert text.count("<!-- bench-keep-alive:start -->") == 1
    assert "default table" in text and "newer keep-alive table" in text
    assert "\nkeep-alive table" not in text


def test_a_topology_of_several_processes_shows_each_party_and_sums_the_columns():
    cost = {
        "gunicorn": 1.0,
        "gunicorn-b": 1.5,
        "haproxy": 0.25,
        "pgbouncer": 0.125,
        "postgres": 0.5,
        "redis:7311": 0.1,
        "redis:7312": 0.2,
        "redis:7313": 0.3,
    }
    cluster = report()
    cluster["topology"] = {
        "kind": "cluster",
        "proxy": "haproxy",
        "gunicorn_nodes": 2,
        "workers_per_node": 2,
        "redis": {"cluster_ports": [7311, 7312, 7313]},
        "pgbouncer": {"pool_mode": "transaction", "pool_size": 20},
    }
    cluster["scenarios"]["rush-30000"]["phases"]["grab"] = {
        **GRAB,
        "cpu_ms_per_request": cost,
        "cost_by_answer": {},
    }

    table = markdown(cluster)

    header = cells(table, "scenario / phase")
    row = dict(zip(header, cells(table, "rush-30000 / grab"), strict=True))
    assert row["app CPU ms/req"] == "2.50"  # both nodes
    assert row["Redis CPU ms/req"] == "0.600"  # every master
    assert row["other parties ms/req"] == (
        "gunicorn 1.00, gunicorn-b 1.50, haproxy 0.250, pgbouncer 0.125"
    )
    assert "Topology: cluster: haproxy in front of 2 gunicorn node(s)" in table
