"""The audit projection alone: in-memory log, a list as its view."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from domain.tickets import Ticket
from projections.audit_log import AuditEntry, AuditLogProjection
from projections.base import Projection
from tests.unit.world import make_world


@dataclass
class ListView:
    """The audit view as a list."""

    entries: list[AuditEntry] = field(default_factory=list)

    def append(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


def project(app: Any, projection: Projection[Any], view: Any) -> None:
    for notification in app.recorder.select_notifications(start=1, limit=10_000):
        projection.handle(app.mapper.to_domain_event(notification), notification.id, view)


def test_every_event_becomes_one_entry_in_log_order_with_its_tenant():
    world = make_world()
    queue_id = world.queue(world.service())
    world.issue(queue_id)
    view = ListView()
    project(world.app, AuditLogProjection(), view)

    head = world.app.recorder.max_notification_id()
    assert [entry.position for entry in view.entries] == list(range(1, head + 1))
    # The tenant's creation carries no context tenant yet; the tenant owns its own events.
    assert {entry.tenant_id for entry in view.entries} == {world.tenant_id}


def test_an_entry_names_the_event_its_aggregate_and_the_commands_context():
    world = make_world()
    queue_id = world.queue(world.service())
    number = world.issue(queue_id)
    view = ListView()
    project(world.app, AuditLogProjection(), view)

    [issued] = [entry for entry in view.entries if entry.event_type == "Ticket.Issued"]
    assert issued.aggregate_type == "Ticket"
    assert issued.actor_role == "admin"
    assert issued.correlation_id == world.context.correlation_id
    assert issued.event_id == f"{issued.aggregate_id}:{issued.aggregate_version}"
    assert issued.data["number"] == number
    assert "metadata" not in issued.data and "originator_id" not in issued.data
    json.dumps(issued.data)  # plain JSON, storable as jsonb


def test_a_projection_finds_the_handler_of_an_events_base_class_and_ignores_the_rest():
    seen: list[str] = []

    class Issued(Projection[list]):
        name = "issued"
        handlers = {Ticket.Issued: lambda self, event, position, view: view.append(position)}

        def tables(self) -> tuple[str, ...]:
            return ()

    class LaterIssued(Ticket.Issued):
        """A subclass of a handled event (as an upcast version would be)."""

    projection = Issued()
    assert projection.handler_for(LaterIssued) is not None
    assert projection.handler_for(Ticket.Called) is None
    world = make_world()
    queue_id = world.queue(world.service())
    world.issue(queue_id)
    project(world.app, projection, seen)
    assert len(seen) == 1
