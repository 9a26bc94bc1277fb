"""The appointments read model through the day list, and the worker's no-show sweep, on the
in-memory store: the projection keeps each appointment's status as the aggregate does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from application.appointment_sweep import AppointmentNoShowSweep
from application.appointments import Appointments
from application.check_in import CheckIns
from application.paging import PageRequest
from domain.errors import InvalidInput
from tests.unit.appointment_fakes import MemoryAppointments
from tests.unit.test_schedule_model import add_customer
from tests.unit.world import make_world

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris
TEN = datetime(2026, 1, 12, 10, 0, tzinfo=PARIS)
DAY = TEN.date()


@pytest.fixture
def world():
    return make_world(now=NOW)


@pytest.fixture
def desk(world):
    """A service (early 30, late 10 minutes) with 5 places per slot, its queue, the read model,
    and the contexts over it."""
    service_id = world.service("DEP")
    world.catalogue.change_service(world.context, service_id, booking={"capacity": 5})
    queue_id = world.queue(service_id)
    records = MemoryAppointments(world.app)
    return (
        service_id,
        queue_id,
        records,
        Appointments(world.app, records=records),
        CheckIns(world.app),
    )


def at(world, moment: datetime) -> None:
    world.clock.now = moment.astimezone(UTC)


def listed(booking: Appointments, world, status: str, **filters) -> list:
    return [
        item.id
        for item in booking.list_appointments(
            world.tenant_id, world.site_id, DAY, status=status, **filters
        ).items
    ]


def test_the_day_list_filters_every_status_of_the_lifecycle(world, desk):
    service_id, queue_id, _, booking, check_ins = desk
    customer_id = add_customer(world)

    def book(start, customer=None):
        return booking.book_appointment(world.context, world.site_id, service_id, start, customer)

    served, kept, moved, cancelled, missed = (
        book(TEN, customer_id),
        book(TEN),
        book(TEN + timedelta(minutes=15)),
        book(TEN + timedelta(minutes=30)),
        book(TEN - timedelta(minutes=15)),
    )
    booking.reschedule_appointment(world.context, moved.id, TEN + timedelta(minutes=45))
    booking.cancel_appointment(world.context, cancelled.id)
    at(world, TEN)
    ticket = check_ins.check_in_appointment(world.context, served.id).ticket
    check_ins.check_in_appointment(world.context, kept.id)
    agent_id = world.agent()
    assert world.staffing.call_next(world.context, agent_id, queue_id).id == ticket.id
    world.tickets.start_ticket(world.context, ticket.id)
    world.tickets.close_ticket(world.context, ticket.id)
    check_ins.mark_no_show(world.context, missed.id)

    at_ten = sorted([served.id, kept.id], key=str)  # same start: by id
    assert listed(booking, world, "all") == [missed.id, *at_ten, cancelled.id, moved.id]
    assert listed(booking, world, "live") == [moved.id]
    assert listed(booking, world, "rescheduled") == [moved.id]
    assert listed(booking, world, "booked") == []
    assert listed(booking, world, "cancelled") == [cancelled.id]
    assert listed(booking, world, "checked_in") == [kept.id]
    assert listed(booking, world, "served") == [served.id]
    assert listed(booking, world, "no_show") == [missed.id]
    assert listed(booking, world, "all", customer_id=customer_id) == [served.id]
    with pytest.raises(InvalidInput, match="status must be one of live, all, booked"):
        listed(booking, world, "gone")


def test_a_move_to_another_day_leaves_the_first_days_list(world, desk):
    service_id, _, _, booking, _ = desk
    moved = booking.book_appointment(world.context, world.site_id, service_id, TEN)
    booking.reschedule_appointment(world.context, moved.id, TEN + timedelta(days=1))
    assert listed(booking, world, "all") == []
    next_day = booking.list_appointments(world.tenant_id, world.site_id, DAY + timedelta(days=1))
    assert [(item.id, item.status) for item in next_day.items] == [(moved.id, "rescheduled")]


def test_the_day_list_pages_by_start_with_a_cursor(world, desk):
    service_id, _, _, booking, _ = desk
    made = [
        booking.book_appointment(
            world.context, world.site_id, service_id, TEN + timedelta(minutes=15 * (n % 3))
        ).id
        for n in range(6)
    ]
    seen, cursor = [], None
    while True:
        page = booking.list_appointments(
            world.tenant_id, world.site_id, DAY, page=PageRequest(cursor, 4)
        )
        seen.extend(item.id for item in page.items)
        if (cursor := page.next_cursor) is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(made)
    assert seen[:2] == sorted(made[0::3], key=str)


def test_the_sweep_marks_an_appointment_past_its_window_once_and_leaves_the_others(world, desk):
    service_id, _, records, booking, check_ins = desk
    sweep = AppointmentNoShowSweep(records, check_ins, world.clock)

    def book(start):
        return booking.book_appointment(world.context, world.site_id, service_id, start).id

    lost, open_window, arrived, later = (
        book(TEN - timedelta(minutes=15)),
        book(TEN),
        book(TEN),
        book(TEN + timedelta(hours=1)),
    )
    at(world, TEN)
    check_ins.check_in_appointment(world.context, arrived)
    at(world, TEN + timedelta(minutes=5))  # lost's window closed at 10:00 - 15 + 10 min

    assert sweep.sweep() == 1
    assert sweep.sweep() == 0
    assert listed(booking, world, "no_show") == [lost]
    assert set(listed(booking, world, "live")) == {open_window, later}
    at(world, TEN + timedelta(minutes=10, seconds=1))
    assert sweep.sweep() == 1
    assert listed(booking, world, "no_show") == [lost, open_window]
    assert listed(booking, world, "checked_in") == [arrived]
