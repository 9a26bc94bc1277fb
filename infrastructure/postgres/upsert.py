"""``INSERT … ON CONFLICT … DO UPDATE`` statements, built once per table and shape.

Building one costs about a millisecond of Python: SQLAlchemy's ``excluded`` makes a proxy of
every column of the table each time it is asked for. The projections write a few upserts per
batch, so building them anew was a fifth of their CPU (cProfile, ``bench/shared_read.py``).
Built once, a statement is also compiled once: its rows go as parameters (``executemany``, which
SQLAlchemy sends as one multi-row ``INSERT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert


def upsert(table: Table, keys: Sequence[str], columns: Sequence[str]) -> Insert:
    """Insert rows of ``columns`` into ``table``; a row whose ``keys`` exist replaces the stored
    values of its other columns. Execute it with the rows as parameters."""
    return _upsert(table, tuple(keys), tuple(columns))


@lru_cache(maxsize=256)  # tables are hashed by identity: a rebuild's shadow tables get their own
def _upsert(table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in keys],
        set_={name: statement.excluded[name] for name in columns if name not in keys},
    )


def accumulate(table: Table, keys: Sequence[str], added: Sequence[str]) -> Insert:
    """Insert rows of ``keys`` and ``added`` into ``table``; a row whose ``keys`` exist adds its
    ``added`` values to the stored ones (rows that carry increments, not totals)."""
    return _accumulate(table, tuple(keys), tuple(added))


@lru_cache(maxsize=64)
def _accumulate(table: Table, keys: tuple[str, ...], added: tuple[str, ...]) -> Insert:
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[name] for name in keys],
        set_={name: table.c[name] + statement.excluded[name] for name in added},
    )
