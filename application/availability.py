"""Availability: the free places of each slot of a service at a site over a range of local days,
for a booking page. The slots come from the site's opening hours and the service's rules (as a
booking checks them); the taken counts from the availability read model, so they trail bookings
by the projection's lag unless the caller waits for its position (``min_position``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from application.app import SmartQueue
from application.appointments import site_hours
from domain.booking import bookable_from, slot_starts
from domain.errors import InvalidInput, ResourceNotFound
from domain.hours import open_intervals
from domain.schedule import slot_key
from domain.tenancy import Service, Site

MAX_DAYS = 62
"""The most local days one availability query covers."""


class TakenPlaces(Protocol):
    """The availability read model (PostgreSQL in production)."""

    def taken(
        self, tenant_id: UUID, site_id: UUID, service_id: UUID, first: date, last: date
    ) -> dict[str, int]:
        """The taken count of each slot (by its UTC start, ISO) of the days ``first``..``last``."""


class SlotAvailability(msgspec.Struct, kw_only=True):
    """One slot still open to booking, and how many of its places are free."""

    start: datetime
    end: datetime
    free: int
    """Capacity minus the places taken (never below zero)."""


class AvailabilityList(msgspec.Struct, kw_only=True):
    """The slots of a range of days, in time order."""

    items: list[SlotAvailability]


class Availability:
    """The free places per slot of a service at a site."""

    def __init__(self, store: SmartQueue, read_model: TakenPlaces) -> None:
        self.store = store
        self.read_model = read_model

    def get_availability(
        self, tenant_id: UUID, site_id: UUID, service_id: UUID, first: date, last: date
    ) -> AvailabilityList:
        """Every slot of the local days ``first``..``last`` (both included, at most
        :data:`MAX_DAYS`) that may still be booked now (lead time, horizon), with its free
        places; a closed date or a weekday without hours has none."""
        if last < first:
            raise InvalidInput("to must not be before from")
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidInput(f"from and to may span at most {MAX_DAYS} days")
        site = self.store.load(Site, site_id, tenant_id, ResourceNotFound)
        service = self.store.load(Service, service_id, tenant_id, ResourceNotFound)
        rules = service.booking_rules
        tz = ZoneInfo(site.timezone)
        earliest, last_day = bookable_from(rules, self.store.clock(), tz)
        # Days before the earliest bookable start have no slot to list (and days far in the
        # past would overflow when moved between zones): start at the first one that may.
        first, last = max(first, earliest.astimezone(tz).date()), min(last, last_day)
        taken = self.read_model.taken(tenant_id, site.id, service.id, first, last)
        items = []
        day = first
        while day <= last:
            intervals = open_intervals(site_hours(site), site.closed_dates, day, tz)
            for start, end in slot_starts(intervals, rules.slot_minutes):
                if start.astimezone(UTC) < earliest:
                    continue
                free = max(0, rules.capacity - taken.get(slot_key(start), 0))
                items.append(SlotAvailability(start=start, end=end, free=free))
            day += timedelta(days=1)
        return AvailabilityList(items=items)
