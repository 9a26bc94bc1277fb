"""Where each follower is in the log (``projection_tracking``) and the state it keeps between
batches (``projection_state``), read and written in the follower's own transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from infrastructure.postgres.tables import projection_state, projection_tracking
from infrastructure.postgres.upsert import upsert

TRACKING_COLUMNS = ("projection_name", "position", "updated_at")


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
    record_positions(connection, {name: position})


def locked_positions(connection: Connection, names: Collection[str]) -> dict[str, int]:
    """The positions of ``names``, each row locked until the transaction ends (one statement
    when every row exists). Rows are locked in name order, so two callers over overlapping sets
    wait for each other instead of deadlocking."""
    query = (
        select(projection_tracking.c.projection_name, projection_tracking.c.position)
        .where(projection_tracking.c.projection_name.in_(sorted(names)))
        .order_by(projection_tracking.c.projection_name)
        .with_for_update()
    )
    positions = {name: int(position) for name, position in connection.execute(query)}
    missing = [name for name in names if name not in positions]
    if missing:
        # Create the rows, then lock them all: two first runs cannot both start from zero.
        now = datetime.now(UTC)
        connection.execute(
            insert(projection_tracking)
            .values([{"projection_name": n, "position": 0, "updated_at": now} for n in missing])
            .on_conflict_do_nothing()
        )
        positions = {name: int(position) for name, position in connection.execute(query)}
    return positions


def record_positions(connection: Connection, positions: Mapping[str, int]) -> None:
    """Move several tracking positions in one statement, in the caller's transaction."""
    if not positions:
        return
    now = datetime.now(UTC)
    connection.execute(
        upsert(projection_tracking, ("projection_name",), TRACKING_COLUMNS),
        [
            {"projection_name": name, "position": position, "updated_at": now}
            for name, position in sorted(positions.items())
        ],
    )


def stored_state(connection: Connection, name: str) -> bytes | None:
    """The working state ``name`` stored with its position (``None`` before its first batch)."""
    query = select(projection_state.c.state).where(projection_state.c.projection_name == name)
    state = connection.execute(query).scalar()
    return None if state is None else bytes(state)


def store_state(connection: Connection, name: str, state: bytes) -> None:
    """Replace ``name``'s working state, in the caller's transaction (with its rows and
    position)."""
    connection.execute(
        upsert(projection_state, ("projection_name",), ("projection_name", "state", "updated_at")),
        {"projection_name": name, "state": state, "updated_at": datetime.now(UTC)},
    )
