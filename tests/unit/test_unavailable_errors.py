"""Losing a store mid-request answers 503 problem+json with Retry-After, whichever library
noticed: psycopg, its pool, eventsourcing's wrappers, SQLAlchemy, redis. Never a 500."""

from __future__ import annotations

import eventsourcing.persistence
import psycopg
import psycopg.errors
import psycopg_pool
import pytest
import redis
import sqlalchemy.exc
from litestar import Litestar, get
from litestar.testing import TestClient

from interfaces.http.errors import EXCEPTION_HANDLERS

LOST = "server closed the connection unexpectedly"


def _sqlalchemy(kind: type[sqlalchemy.exc.DBAPIError]) -> Exception:
    return kind("SELECT 1", {}, psycopg.OperationalError(LOST), connection_invalidated=True)


ERRORS = {
    "psycopg connection lost": psycopg.OperationalError(LOST),
    "psycopg server shut down": psycopg.errors.AdminShutdown("terminating connection"),
    "psycopg closed connection": psycopg.InterfaceError("the connection is closed"),
    "pool timeout": psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"),
    "pool full": psycopg_pool.TooManyRequests("the pool has already 10 requests waiting"),
    "eventsourcing operational": eventsourcing.persistence.OperationalError(LOST),
    "eventsourcing interface": eventsourcing.persistence.InterfaceError("connection closed"),
    "sqlalchemy operational": _sqlalchemy(sqlalchemy.exc.OperationalError),
    "sqlalchemy interface": _sqlalchemy(sqlalchemy.exc.InterfaceError),
    "sqlalchemy pool timeout": sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
    "sqlalchemy disconnection": sqlalchemy.exc.DisconnectionError(LOST),
    "redis connection": redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
    "redis timeout": redis.TimeoutError("Timeout reading from socket"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_a_lost_store_answers_503_with_retry_after(name: str) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise ERRORS[name]

    app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
    with TestClient(app) as client:
        response = client.get("/boom")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["code"] == "unavailable"
    assert "retry" in body["detail"]
    assert LOST not in body["detail"]  # nothing internal reaches the client
