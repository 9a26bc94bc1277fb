"""What the customer's side (:mod:`application.public_tickets`) shows and hands back: a site's
join page, "my ticket", a ticket taken remotely and one followed live; and a site's opening
hours read at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from application.catalogue import Catalogue
from application.customers import Customers
from application.queues import Queues
from application.tickets import Tickets
from application.views import SiteView, TicketView
from domain.hours import WeeklyHours, is_open_at, next_opening
from domain.tenancy import SiteClosed

TICKET_LINK = "/t/{token}"


class PublicService(msgspec.Struct, kw_only=True):
    """A service customers may join now (one of its site's queues is open)."""

    id: UUID
    name: str


class PublicSite(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a site's join page shows (``opens_at`` only while closed and known, ``join_code``
    only when the tenant requires codes)."""

    id: UUID
    name: str
    open: bool
    opens_at: datetime | None = None
    """While closed: when the site opens next, if it does within a year."""
    services: list[PublicService]
    languages: list[str]
    join_code: Literal["off", "sms"] = "off"
    """``sms``: joining needs a one-time code sent to the customer's phone first."""


class PublicTicket(msgspec.Struct, kw_only=True):
    """A customer's own ticket, as "my ticket" shows it: nothing personal, nothing of others
    but how many wait in its queue."""

    number: str
    status: str
    position: int | None
    """1 for the ticket called next; ``null`` unless waiting."""
    eta_seconds: int | None
    counter: str | None
    """The counter to go to, while called or being served."""
    queue_name: str
    waiting: int
    """Tickets waiting in the queue now (the queue's public summary)."""
    more_time_used: bool
    more_time_places: int
    """Places "I need more time" moves the ticket back."""


@dataclass(frozen=True)
class Joined:
    """A ticket taken remotely, and the capability token that follows it."""

    ticket: TicketView
    token: str

    @property
    def url(self) -> str:
        """The "my ticket" page of this ticket."""
        return TICKET_LINK.format(token=self.token)


@dataclass(frozen=True)
class Followed:
    """A ticket as its live socket follows it: the public view, and where its changes come
    from (its tenant and current queue)."""

    ticket: PublicTicket
    tenant_id: UUID
    queue_id: UUID


@dataclass(frozen=True)
class Contact:
    """What a customer gave when joining, validated (phone in E.164)."""

    name: str | None
    phone: str | None
    language: str


@dataclass(frozen=True)
class PublicContexts:
    """The staff-side contexts whose commands and queries the customer's side reuses."""

    catalogue: Catalogue
    queues: Queues
    tickets: Tickets
    customers: Customers


def end_of_local_day(moment: datetime, timezone: str) -> datetime:
    """The next local midnight after ``moment`` at the site, as an aware instant."""
    zone = ZoneInfo(timezone)
    next_day = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(next_day, time(0, 0), tzinfo=zone)


def site_hours(site: SiteView) -> WeeklyHours | None:
    """The site's weekly hours as the domain reads them (``None`` while never set)."""
    if site.opening_hours is None:
        return None
    return {
        day: [{"open": interval.open, "close": interval.close} for interval in intervals]
        for day, intervals in site.opening_hours.items()
    }


def is_open(site: SiteView, moment: datetime) -> bool:
    """Whether the site is open at ``moment``: always, while its opening hours were never set
    (but on its closed dates); else as :func:`domain.hours.is_open_at` reads them."""
    return is_open_at(site_hours(site), site.closed_dates, ZoneInfo(site.timezone), moment)


def opens_at(site: SiteView, moment: datetime) -> datetime | None:
    """When a site closed at ``moment`` opens next (``None`` if open, or not within a year)."""
    if is_open(site, moment):
        return None
    return next_opening(site_hours(site), site.closed_dates, ZoneInfo(site.timezone), moment)


def check_open(site: SiteView, moment: datetime) -> None:
    """Raise :class:`~domain.tenancy.SiteClosed` (with its next opening) unless open."""
    if not is_open(site, moment):
        raise SiteClosed(site.name, opens_at(site, moment), ZoneInfo(site.timezone))
