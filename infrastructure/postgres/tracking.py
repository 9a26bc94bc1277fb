"""Where each follower is in the log (``projection_tracking``) and the state it keeps between
batches (``projection_state``), read and written in the follower's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from infrastructure.postgres.tables import projection_state, projection_tracking


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
