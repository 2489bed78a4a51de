"""Django's PostgreSQL backend with a health check that costs no round trip when all is well.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before the first query of each
request by sending ``SELECT 1`` and waiting for the answer: one round trip of the nine of a
visit posted (bench/outreach.py). Here the check first asks the socket. An idle connection
has nothing to read unless the server wrote to it, and when the server ends a connection (a
restart, ``pg_terminate_backend``, a crash) it writes its FATAL message and closes the
socket. So an idle socket with nothing to read passes, and a socket with something to read
gets Django's own check, ``SELECT 1``, which fails on a closed connection. A connection whose
peer vanished without a word (a cable pulled) passes here as it would pass until ``SELECT 1``
timed out; the query that meets it fails, and Django closes the connection after that
request."""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            poller = select.poll()
            poller.register(conn.pgconn.socket, select.POLLIN)
            quiet = not poller.poll(0)
        except (OSError, base.Database.Error):
            return False
        return quiet or super().is_usable()
