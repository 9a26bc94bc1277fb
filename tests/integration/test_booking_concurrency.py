"""Bookings racing for the last places on a real PostgreSQL: exactly the capacity succeeds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.booking import SlotFull
from domain.schedule import Schedule

pytestmark = pytest.mark.integration

BOOKERS = 50
THREADS = 16
CAPACITY = 3


def _slot(days_ahead: int, hour: int = 10) -> datetime:
    day = date.today() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZoneInfo("Europe/Paris"))


def _race(calls):
    """Run the calls at once on a pool of threads; each answer is a view or the slot_full
    refusal it raised (anything else fails the test)."""
    go = threading.Event()

    def run(call):
        go.wait(timeout=10)
        try:
            return call()
        except SlotFull as refusal:
            return refusal

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [future.result() for future in futures]


def _taken(world, day: str) -> dict[str, int]:
    schedule = world.container.app.find(
        Schedule, Schedule.create_id(world.site_id, world.service_id, day)
    )
    return schedule.taken_by_slot() if schedule else {}


def test_fifty_bookers_of_a_slot_with_three_places_three_succeed_the_rest_get_slot_full(world):
    appointments = world.container.appointments
    world.container.catalogue.change_service(
        world.context, world.service_id, booking={"capacity": CAPACITY}
    )
    start = _slot(2)

    def book():
        return appointments.book_appointment(world.context, world.site_id, world.service_id, start)

    answers = _race([book] * BOOKERS)
    booked = [answer for answer in answers if not isinstance(answer, Exception)]
    refused = [answer for answer in answers if isinstance(answer, SlotFull)]
    assert len(booked) == CAPACITY and len(refused) == BOOKERS - CAPACITY
    assert len({view.code for view in booked}) == CAPACITY
    day = start.date().isoformat()
    assert list(_taken(world, day).values()) == [CAPACITY]
    schedule = world.container.app.find(
        Schedule, Schedule.create_id(world.site_id, world.service_id, day)
    )
    assert sorted(schedule.bookings) == sorted(str(view.id) for view in booked)


def test_a_reschedule_racing_bookings_for_the_last_place_never_overbooks(world):
    appointments = world.container.appointments
    world.container.catalogue.change_service(
        world.context, world.service_id, booking={"capacity": CAPACITY}
    )
    target = _slot(3)
    for _ in range(CAPACITY - 1):
        appointments.book_appointment(world.context, world.site_id, world.service_id, target)
    mover = appointments.book_appointment(
        world.context, world.site_id, world.service_id, _slot(2, hour=11)
    )

    def book():
        return appointments.book_appointment(world.context, world.site_id, world.service_id, target)

    def move():
        return appointments.reschedule_appointment(world.context, mover.id, target)

    answers = _race([move] + [book] * 15)
    succeeded = [answer for answer in answers if not isinstance(answer, Exception)]
    assert len(succeeded) == 1
    assert _taken(world, target.date().isoformat()) == {
        target.astimezone(ZoneInfo("UTC")).isoformat(): CAPACITY
    }
    moved = appointments.get_appointment(world.tenant_id, mover.id)
    old_day = _taken(world, _slot(2).date().isoformat())
    if isinstance(answers[0], Exception):  # a booker won: the mover keeps its old place
        assert moved.day == _slot(2).date().isoformat() and sum(old_day.values()) == 1
    else:  # the mover won: its old place is free, in the same transaction
        assert moved.start == target and sum(old_day.values()) == 0
