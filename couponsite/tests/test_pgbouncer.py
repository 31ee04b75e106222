"""The app's connections are safe under PgBouncer's transaction pooling
(deploy/pgbouncer/pgbouncer.ini.template, ``DATABASE_POOLER=pgbouncer``): a
server connection serves one client for one transaction, then another.

Through a real PgBouncer (Debian's package, our own process) with a pool smaller
than its clients, so that clients share server connections for certain.
``scripts/test-pgbouncer`` runs the race tests themselves through it.
"""

import os
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from couponsite.group_commit.committer import connection_params
from couponsite.testing import race
from couponsite.testing.proxy import ROOT, PgBouncer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.pgbouncer,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

TABLE = "test_pgbouncer_counter"


@pytest.fixture
def bouncer():
    with PgBouncer(os.environ["DATABASE_URL"], pool_size=2) as running:
        yield running


def _through(bouncer: PgBouncer, params: dict) -> dict:
    """``params`` (psycopg's) pointed at PgBouncer instead of Postgres."""
    return {**params, "host": bouncer.host, "port": bouncer.port}


def _django_params() -> dict:
    """What Django hands psycopg.connect for the default database."""
    return connection.get_connection_params()


@pytest.fixture
def counter():
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, n int NOT NULL)")
        cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 0)")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


def _count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n FROM {TABLE} WHERE id = 1")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "params", [_django_params, connection_params], ids=["django", "group_commit"]
)
def test_racing_transactions_share_two_server_connections(bouncer, counter, params):
    """Twelve clients, each taking the row lock and adding one, twenty times, the
    same statements again and again (psycopg would prepare them after five, and
    a prepared statement lives on one server connection: the next transaction's
    connection would not know it)."""
    connect = _through(bouncer, params())
    rounds = 20

    def client(_):
        with psycopg.connect(**connect) as conn:
            for _ in range(rounds):
                with conn.transaction():
                    conn.execute(f"SELECT n FROM {TABLE} WHERE id = %s FOR UPDATE", [1])
                    conn.execute(f"UPDATE {TABLE} SET n = n + %s WHERE id = %s", [1, 1])
        return True

    assert race(client, 12) == [True] * 12
    assert _count() == 12 * rounds


def test_prepared_statements_are_what_breaks_there(bouncer, counter):
    """Why ``prepare_threshold=None``: two clients preparing on one server
    connection (pool of 2, one client holding the other) collide on its names."""
    connect = _through(bouncer, {**_django_params(), "prepare_threshold": 0})
    connect.pop("cursor_factory")  # Django's ClientCursor never prepares
    holder = psycopg.connect(**{**connect, "autocommit": False})
    holder.execute("SELECT 1")  # in a transaction: keeps one server connection
    try:
        with psycopg.connect(**connect) as first, psycopg.connect(**connect) as second:
            first.execute("SELECT %s::int", [1])
            first.commit()
            with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
                second.execute("SELECT %s::int", [2])
    finally:
        holder.close()


def test_the_time_zone_a_connection_set_follows_it(bouncer):
    """The session settings the code makes (the group committer's and Django's
    SET TIME ZONE) are ones PgBouncer sets again on whichever server connection
    the client's next transaction gets."""
    connect = _through(bouncer, connection_params())
    with psycopg.connect(**connect) as utc, psycopg.connect(**connect) as other:
        utc.execute("SET TIME ZONE 'UTC'")
        utc.commit()
        seen = []
        for _ in range(4):  # both clients go on sharing the two server connections
            other.execute("SET TIME ZONE 'America/New_York'")
            other.commit()
            seen.append(utc.execute("SHOW TimeZone").fetchone()[0])
            utc.commit()
        assert seen == ["UTC"] * 4


def _settings_in_a_process(env: dict) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "d = settings.DATABASES['default'];"
        "print(d['OPTIONS'].get('prepare_threshold', 'unset'),"
        " d.get('DISABLE_SERVER_SIDE_CURSORS', False))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "couponsite.settings", **env},
        capture_output=True,
        text=True,
    )


def test_the_pooler_setting_turns_off_what_needs_a_session():
    pooled = _settings_in_a_process({"DATABASE_POOLER": "pgbouncer"})
    default = _settings_in_a_process({"DATABASE_POOLER": ""})
    prepared = _settings_in_a_process(
        {"DATABASE_POOLER": "pgbouncer", "RUSH_GROUP_COMMIT_PREPARE": "1"}
    )

    assert pooled.stdout.split() == ["None", "True"]
    assert default.stdout.split() == ["unset", "False"]
    assert prepared.returncode != 0
    assert "RUSH_GROUP_COMMIT_PREPARE" in prepared.stderr


def test_threads_wait_for_a_server_connection_instead_of_failing(bouncer):
    """More clients in transactions than the pool has connections: the others
    queue in PgBouncer until one is handed back."""
    connect = _through(bouncer, _django_params())

    def client(_):
        with psycopg.connect(**connect) as conn, conn.transaction():
            conn.execute("SELECT pg_sleep(0.2)")
            return conn.execute("SELECT pg_backend_pid()").fetchone()[0]

    backends = race(client, 6)

    assert len(backends) == 6
    assert len(set(backends)) <= 2  # six transactions on the pool's two connections
