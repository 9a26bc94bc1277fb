"""What queries and commands return: msgspec Structs, never aggregates."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class TicketView(msgspec.Struct, kw_only=True):
    """A ticket as customers, displays and agents see it."""

    id: UUID
    number: str
    status: str
    queue_id: UUID
    service_id: UUID
    position: int | None
    """1 when called next; ``None`` unless waiting."""
    eta_seconds: int | None
    """Estimated wait until called; ``None`` unless waiting."""
    priority: int
    channel: str
    customer_id: UUID | None
    agent_id: UUID | None
    counter: str | None
    issued_at: datetime
    called_at: datetime | None
    service_started_at: datetime | None
    finished_at: datetime | None
    recalls: int
    transfers: int


class QueueView(msgspec.Struct, kw_only=True):
    """A queue's definition and its current waiting count."""

    id: UUID
    name: str
    site_id: UUID
    service_ids: list[UUID]
    algorithm: str
    status: str
    waiting: int
    auto_no_show_minutes: int | None = None
    """Called tickets not started this many minutes after their call become no-shows (null: off)."""


class QueueDetail(QueueView, kw_only=True):
    """One queue as its own answers show it: the list's fields and the settings the list of
    queues (the directory read model) does not carry."""

    appointment_placement: str
    """How an on-time checked-in appointment joins: ``booked_time`` or ``priority``."""
    appointment_priority: int | None
    """The priority those appointments' tickets get under ``priority`` (null otherwise)."""


class AgentView(msgspec.Struct, kw_only=True):
    """An agent's status, counter, queues and current ticket."""

    id: UUID
    user_id: UUID
    name: str
    status: str
    counter: str | None
    queue_ids: list[UUID]
    current_ticket_id: UUID | None


class OpeningInterval(msgspec.Struct):
    """One stretch of a day the site is open, in its local time (``HH:MM``)."""

    open: str
    close: str


class SiteView(msgspec.Struct, kw_only=True):
    """A site of the tenant and when it is open."""

    id: UUID
    name: str
    timezone: str
    opening_hours: dict[str, list[OpeningInterval]] | None
    """Every weekday (``monday`` ... ``sunday``), each with its intervals in order; ``null``
    while never set (the site is then open at all times but on its closed dates)."""
    closed_dates: list[str]
    """ISO dates the site stays closed, in calendar order."""


class ServiceView(msgspec.Struct, kw_only=True):
    """A service of the tenant."""

    id: UUID
    name: str
    code: str
    target_wait_minutes: int
    expected_service_minutes: int
    booking: BookingRulesView | None = None


class BookingRulesView(msgspec.Struct, kw_only=True):
    """How a service's appointments are booked (minutes unless named otherwise)."""

    slot_minutes: int
    capacity: int
    lead_minutes: int
    horizon_days: int
    early_minutes: int
    late_minutes: int
    cancel_cutoff_minutes: int
    per_customer_per_day: int
    hold_minutes: int = 5
    """How long a place held by an online booker is kept before they confirm."""


class UserView(msgspec.Struct, kw_only=True):
    """A staff user, without any secret."""

    id: UUID
    email: str
    name: str
    role: str
    scopes: list[str] = []
    """Extra scopes granted on top of the role's."""
    active: bool
    tenant_id: UUID


class TenantView(msgspec.Struct, kw_only=True):
    """A tenant's identity."""

    id: UUID
    slug: str
    name: str


class QuietHoursView(msgspec.Struct, kw_only=True):
    """A daily window without notifications, ``HH:MM`` local time."""

    start: str
    end: str


class PreferencesView(msgspec.Struct, kw_only=True):
    """How and in which language a customer wants to be notified."""

    channels: list[str]
    language: str
    quiet_hours: QuietHoursView | None


class CustomerView(msgspec.Struct, kw_only=True):
    """A customer with their personal data (only while not erased)."""

    id: UUID
    name: str
    phone: str | None
    """E.164, like ``+33612345678``."""
    email: str | None
    metadata: dict[str, str | int | float | bool | None]
    preferences: PreferencesView
    created_at: datetime
    push_token: str | None = None
    """The device registration token of the customer's app, where ``push`` reaches them."""
