"""The PostgreSQL backend's health check (lib/postgresql/base.py): it asks the socket, and a
connection the server ended is closed before the request's first query, then opened again."""

import select
import time

import psycopg
import pytest
from django.db import connection

pytestmark = pytest.mark.usefixtures("flushable_db")


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the health check belongs to the PostgreSQL backend")


def _other() -> psycopg.Connection:
    """A second connection to the test database, so that what it reads or does sends
    nothing on Django's."""
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"],
        port=s["PORT"] or None,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    )


def _last_statement(pid: int) -> str:
    with _other() as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return row.fetchone()[0]


def test_a_live_connection_passes_without_a_statement(on_postgresql):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'before the check'")
    pid = connection.connection.info.backend_pid
    assert _last_statement(pid) == "SELECT 'before the check'"
    assert connection.is_usable()
    assert connection.is_usable()
    # The server saw no new statement on this connection: the check asked the socket.
    assert _last_statement(pid) == "SELECT 'before the check'"


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(on_postgresql):
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid
    with _other() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [old_pid]).fetchone()[0]
    poller = select.poll()  # wait for the server's goodbye to reach the socket
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(50) and time.monotonic() < deadline:
        pass
    assert not connection.is_usable()
    # What Django runs before a request's first query with CONN_HEALTH_CHECKS.
    assert connection.health_check_enabled
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid
