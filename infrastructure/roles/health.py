"""Whether the projections and the relay are alive and keeping up, read from PostgreSQL.

Each of them moves its ``projection_tracking`` row as it works and, while idle, touches the row's
``updated_at`` every few seconds (a check-in). So from any process (a status probe, the API's
readiness) one query tells:

- ``silent``: no check-in for ``SMARTQUEUE_ROLE_SILENT_SECONDS`` while caught up with the log
  (no process runs the role, or its thread died);
- ``stalled``: the same while events wait (the role is dead, or stuck on something: its log says
  what);
- ``behind``: alive, but more than ``SMARTQUEUE_MAX_LAG`` events behind the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine, select

from infrastructure.following.dead_letters import dead_letter_counts
from infrastructure.postgres.tables import projection_tracking
from infrastructure.settings import SupervisionSettings

RELAY = "kafka_relay"  # the relay's tracking row (infrastructure.kafka.relay.RELAY_NAME)


@dataclass(frozen=True)
class RoleHealth:
    """One projection's or the relay's position, last check-in and verdict."""

    name: str
    position: int
    head: int
    checked_in: datetime | None
    """When it last moved its position or checked in (None: it never ran)."""
    dead_letters: int
    problem: str | None
    """``silent``, ``stalled`` or ``behind`` (with a reason), None when all is well."""

    @property
    def behind(self) -> int:
        """Events still to handle (an upper bound: the log has gaps)."""
        return max(0, self.head - self.position)

    def describe(self) -> str:
        """One tab-separated status line."""
        checked = self.checked_in.isoformat() if self.checked_in else "never"
        line = (
            f"{self.name}\tposition {self.position}\thead {self.head}\tlag {self.behind}"
            f"\tlast check-in {checked}\t{self.problem or 'ok'}"
        )
        if self.dead_letters:
            line += f"\tdead letters {self.dead_letters}"
        return line


def assess(
    name: str,
    position: int,
    head: int,
    checked_in: datetime | None,
    limits: SupervisionSettings,
    *,
    dead_letters: int = 0,
    now: datetime | None = None,
) -> RoleHealth:
    """The verdict on one role from its tracking row (see the module docstring)."""
    now = now or datetime.now(UTC)
    behind = max(0, head - position)
    problem = None
    quiet = None if checked_in is None else (now - checked_in).total_seconds()
    if quiet is None or quiet > limits.silent_seconds:
        since = "never checked in" if quiet is None else f"no check-in for {quiet:.0f} s"
        problem = f"stalled ({since}, {behind} behind)" if behind else f"silent ({since})"
    elif behind > limits.max_lag:
        problem = f"behind ({behind} > {limits.max_lag})"
    return RoleHealth(name, position, head, checked_in, dead_letters, problem)


def roles_health(
    engine: Engine,
    recorder: ApplicationRecorder,
    names: list[str],
    limits: SupervisionSettings,
) -> list[RoleHealth]:
    """The health of each tracking row in ``names`` (projections, or the relay), in that order."""
    head = recorder.max_notification_id() or 0
    table = projection_tracking
    query = select(table.c.projection_name, table.c.position, table.c.updated_at).where(
        table.c.projection_name.in_(names)
    )
    with engine.connect() as connection:
        rows = {row.projection_name: row for row in connection.execute(query)}
        letters = dead_letter_counts(connection)
    now = datetime.now(UTC)
    health = []
    for name in names:
        row = rows.get(name)
        position, checked_in = (int(row.position), row.updated_at) if row else (0, None)
        health.append(
            assess(
                name,
                position,
                head,
                checked_in,
                limits,
                dead_letters=letters.get(name, 0),
                now=now,
            )
        )
    return health
