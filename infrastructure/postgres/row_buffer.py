"""A batch's changes to one read-model table, written with a few statements at flush.

Projections that update rows (rather than only append) would otherwise cost a statement per
event. The buffer keeps, per primary key, either the row's final state (a ``put`` or ``delete``
in this batch decides it) or the changes to apply to whatever the table holds. At ``flush`` it
reads the rows it has only changes for (one ``SELECT``), applies them in event order, then upserts
and deletes (one statement each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, delete, select, tuple_

from infrastructure.postgres.upsert import upsert

Row = TypeVar("Row")
Key = tuple[Any, ...]

_ABSENT = object()


class RowBuffer(Generic[Row]):
    """Pending rows of ``table``, each a dataclass ``row_type`` whose fields are its columns."""

    def __init__(self, table: Table, row_type: type[Row]) -> None:
        self.table = table
        self.row_type = row_type
        self.columns = tuple(field.name for field in fields(row_type))  # type: ignore[arg-type]
        self.key_columns = tuple(column.name for column in table.primary_key.columns)
        self.final: dict[Key, Any] = {}  # key -> row, or _ABSENT when deleted
        self.changes: dict[Key, list[Callable[[Row], Row]]] = {}  # rows not read yet

    def key_of(self, row: Row) -> Key:
        return tuple(getattr(row, name) for name in self.key_columns)

    def put(self, row: Row) -> None:
        """Insert or replace the row with this row's key."""
        key = self.key_of(row)
        self.changes.pop(key, None)
        self.final[key] = row

    def delete(self, key: Key) -> None:
        """Remove the row with ``key`` (if there is one)."""
        self.changes.pop(key, None)
        self.final[key] = _ABSENT

    def change(self, key: Key, change: Callable[[Row], Row]) -> None:
        """Replace the row with ``key`` by ``change(row)``; nothing if there is no such row."""
        if key in self.final:
            row = self.final[key]
            if row is not _ABSENT:
                self.final[key] = change(row)
        else:
            self.changes.setdefault(key, []).append(change)

    def flush(self, connection: Connection) -> None:
        """Write every pending change inside the caller's transaction."""
        if self.changes:
            self._apply_changes(connection)
        rows = [row for row in self.final.values() if row is not _ABSENT]
        gone = [key for key, row in self.final.items() if row is _ABSENT]
        if rows:
            connection.execute(
                upsert(self.table, self.key_columns, self.columns),
                [{name: getattr(row, name) for name in self.columns} for row in rows],
            )
        if gone:
            key = tuple_(*(self.table.c[name] for name in self.key_columns))
            connection.execute(delete(self.table).where(key.in_(gone)))
        self.final, self.changes = {}, {}

    def _apply_changes(self, connection: Connection) -> None:
        key = tuple_(*(self.table.c[name] for name in self.key_columns))
        stored = connection.execute(select(self.table).where(key.in_(list(self.changes))))
        for mapping in stored.mappings():
            row = self.row_type(**{name: mapping[name] for name in self.columns})
            stored_key = self.key_of(row)
            for change in self.changes[stored_key]:
                row = change(row)
            self.final[stored_key] = row
