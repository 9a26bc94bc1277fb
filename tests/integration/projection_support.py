"""Helpers for projection tests: run the audit projection, read what it wrote, read the log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, text

from infrastructure.container import Container
from infrastructure.projection_runner import ProjectionRunner, read_models
from infrastructure.read_models import audit_log


def audit_runner(container: Container, **options: Any) -> ProjectionRunner:
    """A runner of the audit projection over the container's application."""
    return ProjectionRunner(
        read_models()["audit_log"], container.app.recorder, container.app.mapper, **options
    )


def log_positions(container: Container) -> list[int]:
    """Every notification id in the log, in order."""
    positions: list[int] = []
    start = 0
    while True:
        batch = container.app.recorder.select_notifications(
            start=start, limit=5000, inclusive_of_start=False
        )
        positions += [notification.id for notification in batch]
        if len(batch) < 5000:
            return positions
        start = batch[-1].id


def audit_positions(engine: Engine) -> list[int]:
    """Every position in the audit log, in order, with repeats if there were any."""
    with engine.connect() as connection:
        return list(connection.execute(select(audit_log.c.position).order_by("position")).scalars())


def audit_rows(engine: Engine) -> list[dict[str, Any]]:
    """The whole audit log as the owner sees it, in position order."""
    with engine.connect() as connection:
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
