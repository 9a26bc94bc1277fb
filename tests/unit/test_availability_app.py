"""The availability query through the application, on the in-memory store with a hand-driven
clock and a fake read model: which slots are listed and how many places each has free."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from application.availability import Availability
from domain.errors import InvalidInput, ResourceNotFound
from domain.schedule import slot_key
from tests.unit.world import make_world

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris
MONDAY, TUESDAY = date(2026, 1, 12), date(2026, 1, 13)
HOURS = {
    "monday": [{"open": "09:00", "close": "10:00"}],
    "tuesday": [{"open": "09:00", "close": "10:00"}],
}


class FakeTaken:
    """Taken counts as a dict; records what was asked."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.asked: list[tuple[UUID, UUID, UUID, date, date]] = []

    def taken(self, tenant_id, site_id, service_id, first, last) -> dict[str, int]:
        self.asked.append((tenant_id, site_id, service_id, first, last))
        return self.counts


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def world():
    world = make_world(now=NOW)
    world.catalogue.change_site(world.context, world.site_id, opening_hours=HOURS)
    return world


def test_free_is_capacity_minus_taken_never_below_zero_and_past_slots_are_left_out(world):
    service_id = world.service()
    world.catalogue.change_service(
        world.context, service_id, booking={"capacity": 2, "lead_minutes": 10}
    )
    taken = FakeTaken({slot_key(at(TUESDAY, 9)): 1, slot_key(at(TUESDAY, 9, 15)): 5})
    found = Availability(world.app, taken).get_availability(
        world.tenant_id, world.site_id, service_id, MONDAY, TUESDAY + timedelta(days=1)
    )
    listed = [(item.start, item.free) for item in found.items]
    # Monday 09:00 is within the lead time (it is 09:00); Wednesday has no hours.
    assert listed == [
        (at(MONDAY, 9, 15), 2),
        (at(MONDAY, 9, 30), 2),
        (at(MONDAY, 9, 45), 2),
        (at(TUESDAY, 9), 1),
        (at(TUESDAY, 9, 15), 0),
        (at(TUESDAY, 9, 30), 2),
        (at(TUESDAY, 9, 45), 2),
    ]
    assert all(item.end - item.start == timedelta(minutes=15) for item in found.items)


def test_days_beyond_the_horizon_and_before_today_are_neither_listed_nor_asked(world):
    service_id = world.service()
    world.catalogue.change_service(world.context, service_id, booking={"horizon_days": 1})
    taken = FakeTaken({})
    found = Availability(world.app, taken).get_availability(
        world.tenant_id,
        world.site_id,
        service_id,
        MONDAY - timedelta(days=7),
        MONDAY + timedelta(days=14),
    )
    assert {item.start.astimezone(PARIS).date() for item in found.items} == {MONDAY, TUESDAY}
    assert taken.asked[0][3:] == (MONDAY, TUESDAY)


def test_ranges_too_long_or_backwards_and_unknown_services_are_refused(world):
    service_id = world.service()
    availability = Availability(world.app, FakeTaken({}))
    ask = availability.get_availability
    with pytest.raises(InvalidInput):
        ask(world.tenant_id, world.site_id, service_id, MONDAY, MONDAY + timedelta(days=62))
    ask(world.tenant_id, world.site_id, service_id, MONDAY, MONDAY + timedelta(days=61))
    with pytest.raises(InvalidInput):
        ask(world.tenant_id, world.site_id, service_id, TUESDAY, MONDAY)
    with pytest.raises(ResourceNotFound):
        ask(world.tenant_id, world.site_id, world.site_id, MONDAY, MONDAY)
