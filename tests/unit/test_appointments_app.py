"""Booking, moving and cancelling appointments through the application, on the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from application.appointments import Appointments
from application.context import CommandContext, metadata_of
from application.paging import PageRequest
from domain.booking import (
    AppointmentClosed,
    BeyondHorizon,
    CustomerLimit,
    OutsideOpeningHours,
    SlotFull,
    TooLateToBook,
    TooLateToCancel,
)
from domain.errors import CustomerNotFound, InvalidInput
from domain.schedule import Schedule
from tests.unit.appointment_fakes import MemoryAppointments
from tests.unit.test_schedule_model import add_customer
from tests.unit.world import make_world

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris
TOMORROW_TEN = datetime(2026, 1, 13, 10, 0, tzinfo=PARIS)


@pytest.fixture
def world():
    return make_world(now=NOW)


@pytest.fixture
def booking(world):
    return Appointments(world.app, records=MemoryAppointments(world.app))


def rules(world, service_id, **values):
    world.catalogue.change_service(world.context, service_id, booking=values)


def test_a_booking_saves_the_appointment_and_its_schedule_in_one_transaction(world, booking):
    service_id = world.service("DEP")
    view = booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    assert view.status == "booked" and view.day == "2026-01-13"
    assert view.end - view.start == timedelta(minutes=15)
    assert view.code.startswith("DEP-") and len(view.code) == 9
    assert world.app.transactions[-1] == {
        "Schedule.Opened",
        "Schedule.PlaceTaken",
        "Appointment.Booked",
    }
    assert booking.get_appointment(world.tenant_id, view.id).code == view.code


def test_a_slot_takes_as_many_bookings_as_its_capacity_then_refuses(world, booking):
    service_id = world.service()
    rules(world, service_id, capacity=3)
    codes = {
        booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN).code
        for _ in range(3)
    }
    assert len(codes) == 3
    with pytest.raises(SlotFull):
        booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    later = TOMORROW_TEN + timedelta(minutes=15)
    booking.book_appointment(world.context, world.site_id, service_id, later)


def test_opening_hours_closed_dates_lead_time_and_horizon_are_enforced(world, booking):
    service_id = world.service()
    rules(world, service_id, lead_minutes=120, horizon_days=7)
    world.catalogue.change_site(
        world.context,
        world.site_id,
        opening_hours={
            day: [{"open": "09:00", "close": "12:00"}]
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        },
        closed_dates=["2026-01-14"],
    )

    def book(start):
        return booking.book_appointment(world.context, world.site_id, service_id, start)

    with pytest.raises(OutsideOpeningHours):
        book(datetime(2026, 1, 13, 12, 0, tzinfo=PARIS))
    with pytest.raises(OutsideOpeningHours):
        book(datetime(2026, 1, 14, 10, 0, tzinfo=PARIS))  # a closed date
    with pytest.raises(OutsideOpeningHours):
        book(datetime(2026, 1, 17, 10, 0, tzinfo=PARIS))  # a Saturday
    with pytest.raises(TooLateToBook):
        book(datetime(2026, 1, 12, 10, 45, tzinfo=PARIS))  # 105 minutes ahead
    book(datetime(2026, 1, 12, 11, 0, tzinfo=PARIS))
    with pytest.raises(BeyondHorizon):
        book(datetime(2026, 1, 20, 9, 0, tzinfo=PARIS))
    book(datetime(2026, 1, 19, 9, 0, tzinfo=PARIS))
    with pytest.raises(InvalidInput, match="slot"):
        book(datetime(2026, 1, 13, 9, 5, tzinfo=PARIS))
    with pytest.raises(InvalidInput, match="time zone"):
        book(datetime(2026, 1, 13, 9, 0))


def test_a_customer_may_hold_only_the_days_limit(world, booking):
    service_id = world.service()
    rules(world, service_id, capacity=5, per_customer_per_day=2)
    customer_id = add_customer(world)
    for minutes in (0, 15):
        booking.book_appointment(
            world.context,
            world.site_id,
            service_id,
            TOMORROW_TEN + timedelta(minutes=minutes),
            customer_id,
        )
    with pytest.raises(CustomerLimit):
        booking.book_appointment(
            world.context, world.site_id, service_id, TOMORROW_TEN, customer_id
        )
    booking.book_appointment(
        world.context, world.site_id, service_id, TOMORROW_TEN + timedelta(days=1), customer_id
    )
    booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    other_tenant = make_world(now=NOW, app=world.app)
    with pytest.raises(CustomerNotFound):
        booking.book_appointment(
            other_tenant.context,
            other_tenant.site_id,
            other_tenant.service(),
            TOMORROW_TEN,
            customer_id,
        )


def test_a_reschedule_moves_the_place_between_two_days_atomically(world, booking):
    service_id = world.service("A")
    view = booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    moved = booking.reschedule_appointment(world.context, view.id, TOMORROW_TEN + timedelta(days=1))
    assert moved.status == "rescheduled" and moved.day == "2026-01-14"
    assert moved.code != view.code
    assert world.app.transactions[-1] == {
        "Schedule.PlaceFreed",
        "Schedule.Opened",
        "Schedule.PlaceTaken",
        "Appointment.Rescheduled",
    }
    # The old place is free again, the new one is taken.
    booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    with pytest.raises(SlotFull):
        booking.book_appointment(
            world.context, world.site_id, service_id, TOMORROW_TEN + timedelta(days=1)
        )
    # Within its day it keeps its code.
    again = booking.reschedule_appointment(
        world.context, view.id, TOMORROW_TEN + timedelta(days=1, minutes=30)
    )
    assert again.code == moved.code


def test_a_refused_reschedule_changes_nothing(world, booking):
    service_id = world.service()
    first = booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    later = TOMORROW_TEN + timedelta(minutes=15)
    booking.book_appointment(world.context, world.site_id, service_id, later)
    saves = len(world.app.transactions)
    with pytest.raises(SlotFull):
        booking.reschedule_appointment(world.context, first.id, later)
    assert len(world.app.transactions) == saves
    assert booking.get_appointment(world.tenant_id, first.id).start == TOMORROW_TEN


def test_cancelling_frees_the_place_and_is_refused_past_the_cut_off_or_twice(world, booking):
    service_id = world.service()
    rules(world, service_id, cancel_cutoff_minutes=60)
    view = booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    cancelled = booking.cancel_appointment(world.context, view.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at == NOW
    with pytest.raises(AppointmentClosed):
        booking.cancel_appointment(world.context, view.id)
    with pytest.raises(AppointmentClosed):
        booking.reschedule_appointment(world.context, view.id, TOMORROW_TEN)
    late = booking.book_appointment(world.context, world.site_id, service_id, TOMORROW_TEN)
    world.clock.now = TOMORROW_TEN - timedelta(minutes=59)
    with pytest.raises(TooLateToCancel):
        booking.cancel_appointment(world.context, late.id)
    with pytest.raises(TooLateToCancel):
        booking.reschedule_appointment(world.context, late.id, TOMORROW_TEN + timedelta(minutes=15))


def test_the_days_list_is_ordered_by_start_filtered_and_paged(world, booking):
    first_service, second_service = world.service("A"), world.service("B")
    rules(world, first_service, capacity=2)
    made = [
        booking.book_appointment(world.context, world.site_id, first_service, TOMORROW_TEN),
        booking.book_appointment(
            world.context, world.site_id, second_service, TOMORROW_TEN - timedelta(minutes=15)
        ),
        booking.book_appointment(
            world.context, world.site_id, first_service, TOMORROW_TEN + timedelta(minutes=15)
        ),
    ]
    booking.cancel_appointment(world.context, made[2].id)
    day = TOMORROW_TEN.date()
    seen, cursor = [], None
    while True:
        page = booking.list_appointments(
            world.tenant_id, world.site_id, day, status="all", page=PageRequest(cursor, 1)
        )
        seen.extend(item.id for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [made[1].id, made[0].id, made[2].id]
    live = booking.list_appointments(world.tenant_id, world.site_id, day, first_service)
    assert [item.id for item in live.items] == [made[0].id]
    cancelled = booking.list_appointments(world.tenant_id, world.site_id, day, status="cancelled")
    assert [item.id for item in cancelled.items] == [made[2].id]
    with pytest.raises(InvalidInput):
        booking.list_appointments(world.tenant_id, world.site_id, day, status="gone")


def test_booking_rules_are_set_on_the_service_and_a_bad_value_names_its_field(world):
    service_id = world.service()
    view = world.catalogue.change_service(
        world.context, service_id, booking={"slot_minutes": 30, "capacity": 4}
    )
    assert (view.booking.slot_minutes, view.booking.capacity, view.booking.late_minutes) == (
        30,
        4,
        10,
    )
    assert world.app.transactions[-1] == {"Service.BookingRulesSet"}
    with pytest.raises(InvalidInput, match=r"booking\.capacity"):
        world.catalogue.change_service(world.context, service_id, booking={"capacity": 0})
    assert world.catalogue.get_service(world.tenant_id, service_id).booking.capacity == 4


def test_a_busy_days_schedule_is_snapshotted_and_loads_the_same(world, booking):
    service_id = world.service()
    rules(world, service_id, capacity=10)
    made = [
        booking.book_appointment(
            world.context,
            world.site_id,
            service_id,
            TOMORROW_TEN + timedelta(minutes=15 * (n % 6)),
        )
        for n in range(world.app.SNAPSHOT_INTERVAL + 5)
    ]
    booking.cancel_appointment(world.context, made[0].id)
    schedule_id = Schedule.create_id(world.site_id, service_id, "2026-01-13")
    assert list(world.app.snapshots.get(schedule_id)), "no snapshot was taken"
    schedule = world.app.repository.get(schedule_id)
    assert sum(schedule.taken_by_slot().values()) == len(made) - 1
    assert schedule.cancelled == [str(made[0].id)]
    assert len({booking["code"] for booking in schedule.bookings.values()}) == len(made) - 1
    listed = booking.list_appointments(
        world.tenant_id, world.site_id, TOMORROW_TEN.date(), page=PageRequest(limit=200)
    )
    assert len(listed.items) == len(made) - 1


def test_who_booked_and_who_cancelled_is_in_each_events_metadata(world, booking):
    service_id = world.service()
    staff = CommandContext(tenant_id=world.tenant_id, actor_id=uuid4(), actor_role="agent")
    view = booking.book_appointment(staff, world.site_id, service_id, TOMORROW_TEN)
    booking.cancel_appointment(CommandContext.system(world.tenant_id, "expiry"), view.id)
    stamped = [
        (type(event).__qualname__, metadata_of(event).get("actor_role"))
        for event in world.app.events.get(view.id)
    ]
    assert stamped == [("Appointment.Booked", "agent"), ("Appointment.Cancelled", "system")]
    (booked, _) = world.app.events.get(view.id)
    assert metadata_of(booked)["actor_id"] == str(staff.actor_id)
    assert metadata_of(booked)["tenant_id"] == str(world.tenant_id)
