"""Where the projections stand, for queries that wait to read their own writes."""

from __future__ import annotations

from collections.abc import Iterable

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine, select

from infrastructure.postgres.tables import projection_tracking


class PostgresProjectionPositions:
    """Tracking positions from ``projection_tracking``; the log's head from the recorder."""

    def __init__(self, engine: Engine, recorder: ApplicationRecorder) -> None:
        self.engine = engine
        self.recorder = recorder

    def positions(self, names: Iterable[str]) -> dict[str, int]:
        wanted = list(names)
        query = select(projection_tracking.c.projection_name, projection_tracking.c.position).where(
            projection_tracking.c.projection_name.in_(wanted)
        )
        with self.engine.connect() as connection:
            found = {name: int(position) for name, position in connection.execute(query)}
        return {name: found.get(name, 0) for name in wanted}

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0
