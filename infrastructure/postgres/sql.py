"""SQLAlchemy engines over our libpq connection strings (URLs or ``key=value`` conninfo)."""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine, create_engine


def sqlalchemy_engine(database_url: str, pool_size: int = 2) -> Engine:
    """An engine whose connections psycopg opens from ``database_url`` as given, so a Unix
    socket folder (the embedded PostgreSQL) or a conninfo string works like a URL."""
    return create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(database_url),
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
    )
