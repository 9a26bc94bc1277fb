"""Reading and rebuilding as the database roles other than the runtime login: tests that compare
whole read models see every tenant's rows as the projector does, and rebuilds run as the owner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, text

from infrastructure.postgres.row_security import PROJECTOR_ROLE
from infrastructure.postgres.sql import sqlalchemy_engine
from tests.conftest import owner_url

_OWNER_ENGINES: dict[str, Engine] = {}


@contextmanager
def every_tenant(engine: Engine) -> Iterator[Connection]:
    """A transaction on ``engine`` (the runtime login) acting as the projector, whose policy
    shows every tenant's read-model rows and the folds' working state."""
    with engine.begin() as connection:
        connection.execute(text(f"SET LOCAL ROLE {PROJECTOR_ROLE}"))
        yield connection


def owner_engine(container: Any) -> Engine:
    """An engine on ``container``'s database as its owner, the migration role, which alone may
    replace tables (a rebuild's swap). One per database, kept for the session."""
    url = owner_url(container.database_url)
    if url not in _OWNER_ENGINES:
        _OWNER_ENGINES[url] = sqlalchemy_engine(url, pool_size=2)
    return _OWNER_ENGINES[url]
