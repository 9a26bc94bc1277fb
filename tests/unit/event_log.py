"""Read back the domain events an in-memory SmartQueue recorded, in log order."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application


def logged_events(app: Application, after: int = 0) -> list[Any]:
    """Every domain event recorded after log position ``after``, as a projection sees it."""
    events: list[Any] = []
    while True:
        notifications = app.notification_log.select(
            start=after, limit=app.notification_log.section_size, inclusive_of_start=False
        )
        if not notifications:
            return events
        events.extend(app.mapper.to_domain_event(n) for n in notifications)
        after = notifications[-1].id
