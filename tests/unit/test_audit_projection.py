"""The audit projection alone: in-memory log, a list as its view."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from application.appointment_sweep import AppointmentNoShowSweep
from application.appointments import Appointments
from application.check_in import CheckIns
from application.context import CommandContext
from domain.tickets import Ticket
from projections.audit_log import AuditEntry, AuditLogProjection
from projections.base import Projection
from tests.unit.appointment_fakes import MemoryAppointments
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


def test_appointment_and_schedule_events_name_their_tenant_and_who_caused_them():
    world = make_world(now=datetime(2026, 1, 12, 8, 0, tzinfo=UTC))
    service_id = world.service("AU")
    world.catalogue.change_service(world.context, service_id, booking={"capacity": 3})
    queue_id = world.queue(service_id)
    records = MemoryAppointments(world.app)
    booking, check_ins = Appointments(world.app, records=records), CheckIns(world.app)
    agent = CommandContext(tenant_id=world.tenant_id, actor_id=world.user(), actor_role="agent")
    start = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
    served = booking.book_appointment(agent, world.site_id, service_id, start)
    missed = booking.book_appointment(world.context, world.site_id, service_id, start)
    cancelled = booking.book_appointment(agent, world.site_id, service_id, start)
    booking.reschedule_appointment(agent, cancelled.id, start + timedelta(minutes=15))
    booking.cancel_appointment(world.context, cancelled.id)
    world.clock.now = start
    ticket = check_ins.check_in_appointment(agent, served.id).ticket
    agent_id = world.agent()
    world.staffing.call_next(world.context, agent_id, queue_id)
    world.tickets.start_ticket(agent, ticket.id)
    world.tickets.close_ticket(agent, ticket.id)
    world.clock.now = start + timedelta(minutes=11)
    AppointmentNoShowSweep(records, check_ins, world.clock).sweep()
    view = ListView()
    project(world.app, AuditLogProjection(), view)

    booked = [e for e in view.entries if e.aggregate_type in ("Appointment", "Schedule")]
    assert {e.tenant_id for e in booked} == {world.tenant_id}
    who = {(e.event_type, e.aggregate_id): e.actor_role for e in booked}
    assert who[("Appointment.Booked", served.id)] == "agent"
    assert who[("Appointment.Booked", missed.id)] == "admin"
    assert who[("Appointment.Rescheduled", cancelled.id)] == "agent"
    assert who[("Appointment.Cancelled", cancelled.id)] == "admin"
    assert who[("Appointment.CheckedIn", served.id)] == "agent"
    assert who[("Appointment.Served", served.id)] == "agent"
    assert who[("Appointment.MarkedNoShow", missed.id)] == "system"
    [marked] = [e for e in booked if e.event_type == "Appointment.MarkedNoShow"]
    assert marked.causation_id == "appointment-no-show-sweep"
    assert all(e.actor_role for e in booked)
    assert {e.event_type for e in booked} >= {"Schedule.Opened", "Schedule.PlaceTaken"}
