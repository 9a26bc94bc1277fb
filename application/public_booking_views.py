"""What the customer's side of appointments shows: the booking page, a hold, an appointment
and a check-in, as the public API encodes them (no personal data). The use cases are in
:mod:`application.public_booking`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class PublicBookingService(msgspec.Struct, kw_only=True):
    """A service that may be booked at the site, and the rules a booking page needs."""

    id: UUID
    name: str
    code: str
    slot_minutes: int
    lead_minutes: int
    horizon_days: int
    hold_minutes: int


class PublicBookingSite(msgspec.Struct, kw_only=True):
    """A site as its booking page names it."""

    id: UUID
    name: str
    timezone: str


class PublicBookingPage(msgspec.Struct, kw_only=True):
    """What a site's booking page shows: the site, its bookable services, the languages."""

    site: PublicBookingSite
    languages: list[str]
    services: list[PublicBookingService]


class PublicHold(msgspec.Struct, kw_only=True):
    """A place kept for the booker until ``expires_at``; ``hold_token`` confirms or frees it."""

    hold_token: str
    start: datetime
    end: datetime
    expires_at: datetime


class PublicTicketLink(msgspec.Struct, kw_only=True):
    """The ticket an appointment's check-in issued, and its "my ticket" page."""

    number: str
    url: str


class PublicAppointment(msgspec.Struct, kw_only=True):
    """A customer's own appointment, as "my appointment" shows it: nothing personal. The
    tenant's ``slug``, ``site_id`` and ``service_id`` let the page read the free slots to move
    it to (the public availability path)."""

    slug: str
    site_id: UUID
    service_id: UUID
    site_name: str
    service_name: str
    timezone: str
    start: datetime
    end: datetime
    code: str
    """The booking code, for the kiosk."""
    status: str
    check_in_opens_at: datetime
    check_in_closes_at: datetime
    can_check_in: bool
    """Now inside the check-in window, and not checked in, cancelled or missed."""
    can_cancel: bool
    """Still live and before the cancellation cut-off (moving it too)."""
    cancel_until: datetime
    ticket: PublicTicketLink | None
    """Once checked in."""


class PublicBooked(msgspec.Struct, kw_only=True):
    """An appointment booked from a hold, and the token of its "my appointment" page."""

    appointment: PublicAppointment
    token: str
    url: str


class PublicCheckedIn(msgspec.Struct, kw_only=True):
    """An appointment checked in from the customer's phone, and the ticket it took."""

    appointment: PublicAppointment
    ticket: PublicTicketLink


class BookingContact(msgspec.Struct, kw_only=True):
    """What a booker gave, validated: a name, a phone (E.164) or an email, a language."""

    name: str
    phone: str | None
    email: str | None
    language: str
