"""Helpers for projection tests: run the audit and queue statistics projections, read what they
wrote, read the log."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, select, text

from infrastructure.container import Container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.row_security import READER_ROLE
from infrastructure.postgres.tables import audit_log, queue_stats
from projections.queue_day import QueueStatsRow, SlaRule
from projections.queue_stats import QueueStatistics
from tests.integration.roles_support import every_tenant


def audit_runner(container: Container, **options: Any) -> ProjectionRunner:
    """A runner of the audit projection over the container's application."""
    return ProjectionRunner(
        read_models()["audit_log"], container.app.recorder, container.app.mapper, **options
    )


def notifications(container: Container, timeout: float = 30.0) -> list[Any]:
    """Every notification of the log, in order, up to the highest id committed when asked. A
    short read is not the end: the concurrent recorder stops a read before an id that may still
    commit (and passes it once it cannot)."""
    recorder = container.app.recorder
    head = recorder.max_notification_id() or 0
    found: list[Any] = []
    start = 0
    deadline = time.monotonic() + timeout
    while start < head:
        batch = recorder.select_notifications(start=start, limit=5000, inclusive_of_start=False)
        found += batch
        if batch:
            start = batch[-1].id
        else:
            assert time.monotonic() < deadline, f"the log stayed unreadable after {start}"
            time.sleep(0.01)
    return found


def log_positions(container: Container) -> list[int]:
    """Every notification id in the log, in order."""
    return [notification.id for notification in notifications(container)]


def audit_positions(engine: Engine) -> list[int]:
    """Every position in the audit log, in order, with repeats if there were any."""
    with every_tenant(engine) as connection:
        return list(connection.execute(select(audit_log.c.position).order_by("position")).scalars())


def audit_rows(engine: Engine) -> list[dict[str, Any]]:
    """The whole audit log as the projector sees it, in position order."""
    with every_tenant(engine) as connection:
        rows = connection.execute(select(audit_log).order_by(audit_log.c.position)).mappings()
        return [dict(row) for row in rows]


def tracked(engine: Engine, name: str = "audit_log") -> int:
    """The tracking position of ``name`` (0 if it has none)."""
    with engine.connect() as connection:
        value = connection.execute(
            text("SELECT position FROM projection_tracking WHERE projection_name = :n"),
            {"n": name},
        ).scalar()
        return int(value or 0)


def stats_runner(container: Container, **options: Any) -> ProjectionRunner:
    """A runner of the queue statistics projection over the container's application."""
    return ProjectionRunner(
        read_models()["queue_stats"], container.app.recorder, container.app.mapper, **options
    )


def logged_events(container: Container) -> list[Any]:
    """Every domain event of the log, in order."""
    mapper = container.app.mapper
    return [mapper.to_domain_event(notification) for notification in notifications(container)]


def folded_rows(container: Container, sla: SlaRule | None = None) -> list[QueueStatsRow]:
    """The rows a fresh fold of the whole log gives: what the table must hold."""
    statistics = QueueStatistics(sla)
    statistics.apply_all(logged_events(container))
    return statistics.rows()


def stats_rows(engine: Engine) -> list[QueueStatsRow]:
    """The whole ``queue_stats`` table as the projector sees it, in the fold's row order."""
    with every_tenant(engine) as connection:
        rows = connection.execute(select(queue_stats)).mappings().all()
    stored = [QueueStatsRow(**dict(row)) for row in rows]
    return sorted(stored, key=lambda row: (str(row.queue_id), row.day))


def table_catalogue(engine: Engine, table: str) -> dict[str, Any]:
    """What a swap must restore on ``table``: index names, forced RLS, the reader's grant, and
    how many shadow leftovers remain."""
    with engine.connect() as connection:
        indexes = set(
            connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": table}
            ).scalars()
        )
        secured = connection.execute(
            text("SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = :t"),
            {"t": table},
        ).scalar()
        may_read = connection.execute(
            text("SELECT has_table_privilege(:role, :t, 'SELECT')"),
            {"role": READER_ROLE, "t": table},
        ).scalar()
        leftovers = connection.execute(
            text("SELECT count(*) FROM pg_class WHERE relname LIKE :shadow"),
            {"shadow": table.replace("_", "\\_") + "\\_\\_rebuild%"},
        ).scalar()
    return {"indexes": indexes, "secured": secured, "may_read": may_read, "leftovers": leftovers}
