"""Rebuilding a read model from position 0 without a window of empty dashboards.

The new rows go into shadow tables while the live tables keep serving (and their follower keeps
them current). The swap is one transaction: it locks the live tracking row (pausing the
follower), applies the last events to the shadow, replaces the live tables by renaming, restores
index names, RLS and grants, and moves the live position to the shadow's. Readers see the old
tables or the new ones, never an empty one.

A stateful projection's working state is keyed by tracking name like its position: the shadow
builds its own from zero, and the swap hands it to the live name with the tables and position.

With the concurrent recorder, a missing id first met inside the swap's transaction cannot settle
before that transaction ends: the swap stops before it, and the live follower goes on from there
(docs/performance.md, "Writers side by side").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine, delete, text, update

from infrastructure.following.runner import DEFAULT_BATCH_SIZE, ProjectionRunner, ReadModel
from infrastructure.postgres.row_security import PROJECTOR_ROLE, secure_statements
from infrastructure.postgres.tables import projection_state, projection_tracking
from infrastructure.postgres.tracking import record_position, tracked_position

SHADOW = "__rebuild"


def rebuild(
    model: ReadModel,
    engine: Engine,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    *,
    on_progress: Callable[[int], None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE * 5,
) -> int:
    """Rebuild ``model`` from the start of the log; returns the position it stands at.

    ``engine`` logs in as the migration role: it creates, drops and renames the tables."""
    shadow_name = model.name + SHADOW
    with engine.begin() as connection:
        for table in model.tables:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}{SHADOW}"))
            connection.execute(text(f"CREATE TABLE {table}{SHADOW} (LIKE {table} INCLUDING ALL)"))
            # Batches run as the projector; the shadow gets its RLS and grants at the swap.
            connection.execute(
                text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table}{SHADOW} TO {PROJECTOR_ROLE}")
            )
        _forget(connection, shadow_name)
    runner = ProjectionRunner(
        model,
        recorder,
        mapper,
        batch_size=batch_size,
        tracking_name=shadow_name,
        tables=model.shadow_tables(SHADOW),
    )
    runner.catch_up(engine, on_progress)
    with engine.begin() as connection:
        tracked_position(connection, model.name, lock=True)  # the live follower waits here
        while runner.apply_batch(connection) == batch_size:
            pass
        for table in model.tables:
            _swap(connection, table)
        position = tracked_position(connection, shadow_name)
        record_position(connection, model.name, position)
        _hand_over_state(connection, shadow_name, model.name)
        _forget(connection, shadow_name)
    if on_progress is not None:
        on_progress(position)
    return position


def _forget(connection: Connection, name: str) -> None:
    connection.execute(
        delete(projection_tracking).where(projection_tracking.c.projection_name == name)
    )
    connection.execute(delete(projection_state).where(projection_state.c.projection_name == name))


def _hand_over_state(connection: Connection, shadow: str, live: str) -> None:
    """The shadow's working state becomes the live one's (nothing to do for a stateless view)."""
    connection.execute(delete(projection_state).where(projection_state.c.projection_name == live))
    connection.execute(
        update(projection_state)
        .where(projection_state.c.projection_name == shadow)
        .values(projection_name=live)
    )


def _swap(connection: Connection, table: str) -> None:
    shadow = table + SHADOW
    connection.execute(text(f"DROP TABLE {table}"))
    connection.execute(text(f"ALTER TABLE {shadow} RENAME TO {table}"))
    indexes = connection.execute(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = :t"),
        {"t": table},
    ).scalars()
    for index in list(indexes):
        if index.startswith(shadow):
            # LIKE ... INCLUDING ALL named them after the shadow; give back the usual names.
            renamed = table + index[len(shadow) :]
            connection.execute(text(f"ALTER INDEX {index} RENAME TO {renamed}"))
    for statement in secure_statements(table):
        connection.execute(text(statement))
