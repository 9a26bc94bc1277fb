"""The tenant demo data (``create-tenant --with-demo-data``, ``smartqueue dev``): besides the
queues, agents and waiting tickets of the README's walk-through, a few appointments today and
tomorrow (one checked in) and completed visits answered with feedback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from application.context import CommandContext
from application.demo import DEMO_FEEDBACK, DemoData, seed_demo_data
from domain.booking import local_day
from infrastructure.container import Container

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def seeded(container: Container) -> tuple[CommandContext, DemoData]:
    slug = f"demo-{uuid.uuid4().hex[:10]}"
    tenant_id, _ = container.identity.create_tenant(
        CommandContext.system(None), slug, "Demo", f"admin@{slug}.com", "admin123"
    )
    context = CommandContext.system(tenant_id)
    return context, seed_demo_data(container, context, slug)


def test_the_walk_through_still_finds_the_demo_customer_first_in_the_fifo_queue(
    container: Container, seeded: tuple[CommandContext, DemoData]
):
    context, demo = seeded

    first = container.tickets.get_next_waiting(context.tenant_id, demo.fifo_queue_id, 5)

    assert [ticket.number for ticket in first] == ["A-001", "A-002"]
    assert demo.waiting_tickets[0] == "A-001"


def test_appointments_are_booked_today_and_tomorrow_and_the_next_one_is_checked_in(
    container: Container, seeded: tuple[CommandContext, DemoData]
):
    context, demo = seeded
    now = datetime.now(UTC)
    tomorrow = local_day(now, PARIS) + timedelta(days=1)

    assert len(demo.appointments) == 5
    checked_in, later, *morning = demo.appointments
    assert now < checked_in.start <= now + timedelta(minutes=15)
    assert later.start - checked_in.start == timedelta(hours=1)
    assert [(a.service, a.start.astimezone(PARIS).time()) for a in morning] == [
        ("Accounts", time(9, 0)),
        ("Accounts", time(9, 0)),
        ("Advice", time(10, 30)),
    ]
    assert {local_day(a.start, PARIS) for a in morning} == {tomorrow}
    # Read from the write model: the day list is a read model that trails the commands.
    appointments = container.appointments
    views = {
        a.appointment_id: appointments.get_appointment(context.tenant_id, a.appointment_id)
        for a in demo.appointments
    }
    assert {view.day for view in views.values()} == {
        local_day(a.start, PARIS).isoformat() for a in demo.appointments
    }
    assert views[checked_in.appointment_id].status == "checked_in"
    assert views[checked_in.appointment_id].placement == "booked_time"
    assert [views[a.appointment_id].status for a in (later, *morning)] == ["booked"] * 4
    ticket = container.tickets.get_ticket(
        context.tenant_id, views[checked_in.appointment_id].ticket_id
    )
    assert (ticket.number, ticket.status) == (checked_in.ticket, "waiting")
    assert ticket.queue_id == demo.priority_queue_id


def test_completed_visits_carry_the_demo_feedback(
    container: Container, seeded: tuple[CommandContext, DemoData]
):
    context, demo = seeded
    assert container.feedback is not None

    given = [container.feedback.get_feedback(context.tenant_id, fid) for fid in demo.feedback_ids]

    assert [(f.csat, f.nps, f.comment, f.tags) for f in given] == [
        (csat, nps, comment, tags) for csat, nps, comment, tags in DEMO_FEEDBACK
    ]
    assert {f.agent_id for f in given} == {demo.agents[-1].agent_id}
    for feedback in given:
        visit = container.tickets.get_ticket(context.tenant_id, feedback.ticket_id)
        assert visit.status == "completed"
        assert visit.number.startswith("B-")
