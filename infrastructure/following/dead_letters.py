"""Poison events: events a projection failed to apply several times in a row, set aside.

A follower that fails on the same event ``SMARTQUEUE_PROJECTION_MAX_ATTEMPTS`` times records it
here and moves its position past it in the same transaction, so the read model goes on with the
events after it. ``smartqueue projections dead-letters`` lists them and ``smartqueue projections
retry`` applies them again once the cause is fixed, each in one transaction with removing its
dead letter.

Cross-tenant operator data: the table has no ``tenant_id`` (no row-level security) and the API's
reader role gets no grant on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from infrastructure.postgres.tables import projection_dead_letters


@dataclass(frozen=True)
class DeadLetter:
    """One event a projection set aside."""

    projection: str
    position: int
    event_id: str
    """``originator_id:originator_version``, the event id of the Kafka contract."""
    topic: str
    error: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int


def record_dead_letter(connection: Connection, letter: DeadLetter) -> None:
    """Store ``letter`` in the caller's transaction (with the position that skips it)."""
    statement = insert(projection_dead_letters).values(
        projection_name=letter.projection,
        position=letter.position,
        event_id=letter.event_id,
        topic=letter.topic,
        error=letter.error,
        first_failed_at=letter.first_failed_at,
        last_failed_at=letter.last_failed_at,
        attempts=letter.attempts,
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[
                projection_dead_letters.c.projection_name,
                projection_dead_letters.c.position,
            ],
            set_={
                "error": statement.excluded.error,
                "last_failed_at": statement.excluded.last_failed_at,
                "attempts": projection_dead_letters.c.attempts + statement.excluded.attempts,
            },
        )
    )


def dead_letters(
    connection: Connection, projection: str | None = None, position: int | None = None
) -> list[DeadLetter]:
    """The dead letters (of ``projection``, at ``position`` when given), in log order."""
    table = projection_dead_letters
    query = select(table).order_by(table.c.position, table.c.projection_name)
    if projection is not None:
        query = query.where(table.c.projection_name == projection)
    if position is not None:
        query = query.where(table.c.position == position)
    return [
        DeadLetter(
            row.projection_name,
            int(row.position),
            row.event_id,
            row.topic,
            row.error,
            row.first_failed_at,
            row.last_failed_at,
            int(row.attempts),
        )
        for row in connection.execute(query)
    ]


def dead_letter_counts(connection: Connection) -> dict[str, int]:
    """How many dead letters each projection has (projections without any are left out)."""
    table = projection_dead_letters
    query = select(table.c.projection_name, func.count()).group_by(table.c.projection_name)
    return {name: int(count) for name, count in connection.execute(query)}


def remove_dead_letter(connection: Connection, projection: str, position: int) -> None:
    """Forget a dead letter, in the caller's transaction (with its event's effects)."""
    table = projection_dead_letters
    connection.execute(
        delete(table).where(table.c.projection_name == projection, table.c.position == position)
    )


def note_failed_retry(
    connection: Connection, projection: str, position: int, error: str, at: datetime
) -> None:
    """Count a failed retry on the dead letter."""
    table = projection_dead_letters
    connection.execute(
        update(table)
        .where(table.c.projection_name == projection, table.c.position == position)
        .values(error=error, last_failed_at=at, attempts=table.c.attempts + 1)
    )
