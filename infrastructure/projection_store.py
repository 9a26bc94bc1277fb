"""PostgreSQL implementations of the projections' views, and the tracking positions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects.postgresql import insert

from infrastructure.read_models import projection_state, projection_tracking
from projections.audit_log import AuditEntry

# The row's columns: the recorded fields and the tenant.
ENTRY_FIELDS = AuditEntry.__struct_fields__


class PostgresAuditLogView:
    """Collects a batch's audit entries and inserts them with one statement at ``flush``."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.pending: list[dict[str, Any]] = []

    def append(self, entry: AuditEntry) -> None:
        # Shallow on purpose: ``dataclasses.asdict`` deep-copied the event data and took over
        # half of a rebuild's time.
        self.pending.append({name: getattr(entry, name) for name in ENTRY_FIELDS})

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        if self.pending:
            connection.execute(self.table.insert(), self.pending)
            self.pending = []


def tracked_position(connection: Connection, name: str, *, lock: bool = False) -> int:
    """The last log position ``name`` has applied (0 before the first). ``lock`` holds the
    tracking row until the transaction ends, so no other writer applies the same batch."""
    query = select(projection_tracking.c.position).where(
        projection_tracking.c.projection_name == name
    )
    if lock:
        query = query.with_for_update()
    position = connection.execute(query).scalar()
    if position is None and lock:
        # Create the row, then lock it: two first runs cannot both start from zero.
        connection.execute(
            insert(projection_tracking)
            .values(projection_name=name, position=0, updated_at=datetime.now(UTC))
            .on_conflict_do_nothing()
        )
        position = connection.execute(query).scalar()
    return int(position or 0)


def record_position(connection: Connection, name: str, position: int) -> None:
    """Move ``name``'s tracking position, in the caller's transaction."""
    statement = insert(projection_tracking).values(
        projection_name=name, position=position, updated_at=datetime.now(UTC)
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[projection_tracking.c.projection_name],
            set_={
                "position": statement.excluded.position,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


def stored_state(connection: Connection, name: str) -> bytes | None:
    """The working state ``name`` stored with its position (``None`` before its first batch)."""
    query = select(projection_state.c.state).where(projection_state.c.projection_name == name)
    state = connection.execute(query).scalar()
    return None if state is None else bytes(state)


def store_state(connection: Connection, name: str, state: bytes) -> None:
    """Replace ``name``'s working state, in the caller's transaction (with its rows and
    position)."""
    statement = insert(projection_state).values(
        projection_name=name, state=state, updated_at=datetime.now(UTC)
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[projection_state.c.projection_name],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )
    )
