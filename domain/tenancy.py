"""Tenants and their resources: sites, services and staff users.

The Tenant aggregate is also the tenant's directory (which sites, services, queues and users exist),
so listing them needs no read model, a service code stays unique per tenant, and the tenant always
keeps an active admin: rules over many resources live in the one aggregate that sees them all.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.access import check_grantable, scopes_of
from domain.booking import BookingRules
from domain.errors import Conflict, DuplicateResource, InvalidInput, LastAdmin, UserError
from domain.hours import (
    WeeklyHours,
    check_closed_dates,
    check_opening_hours,
    closed_week,
    is_open_at,
    next_opening,
)

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
SERVICE_CODE = re.compile(r"^[A-Z]{1,3}$")
MAX_MINUTES = 24 * 60


class Role(StrEnum):
    """What a staff user is for; scopes are derived from it."""

    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"

    @classmethod
    def parse(cls, value: str) -> Role:
        """Return the role named ``value`` or raise :class:`InvalidInput`."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise InvalidInput(f"unknown role {value!r}; expected one of {names}") from None


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise :class:`InvalidInput`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}; use an IANA name like Europe/Paris"
        ) from None
    return name


def check_name(name: str, what: str) -> str:
    """Return the stripped name, refusing blank or overlong ones."""
    stripped = name.strip()
    if not stripped or len(stripped) > 200:
        raise InvalidInput(f"{what} name must be 1 to 200 characters")
    return stripped


class Tenant(Aggregate):
    """An organisation using SmartQueue, and the directory of its resources."""

    # The active admins. Not a dataclass field: tenants recorded before admins were tracked (and
    # their snapshots) lack it and start with none. Events assign a new list, never mutate it.
    admin_ids: tuple[UUID, ...] | list[UUID] = ()
    # Devices joined the directory later: older tenants and snapshots start with none.
    device_ids: tuple[UUID, ...] | list[UUID] = ()

    @staticmethod
    def create_id(slug: str) -> UUID:  # type: ignore[override]
        """Deterministic id from the slug, so a URL's slug finds the tenant without a lookup."""
        return uuid5(NAMESPACE_URL, f"smartqueue:tenant:{slug}")

    @staticmethod
    def check_slug(slug: str) -> str:
        """Return the slug if it is lowercase letters, digits and dashes, else raise."""
        if not SLUG.match(slug):
            raise InvalidInput(
                "slug must be lowercase letters, digits and dashes (1-63 characters)"
            )
        return slug

    @event("Created")
    def __init__(self, slug: str, name: str) -> None:
        self.slug = slug
        self.name = name
        self.site_ids: list[UUID] = []
        self.service_codes: dict[str, UUID] = {}
        self.queue_ids: list[UUID] = []
        self.user_ids: list[UUID] = []

    @property
    def service_ids(self) -> list[UUID]:
        """Services in the order they were added."""
        return list(self.service_codes.values())

    def add_site(self, site_id: UUID) -> None:
        """Record a new site in the directory."""
        self._site_added(site_id=site_id)

    @event("SiteAdded")
    def _site_added(self, site_id: UUID) -> None:
        self.site_ids.append(site_id)

    def add_service(self, service_id: UUID, code: str) -> None:
        """Record a new service; its code must be unused in this tenant."""
        if code in self.service_codes:
            raise DuplicateResource(f"service code {code!r} is already used in this tenant")
        self._service_added(service_id=service_id, code=code)

    @event("ServiceAdded")
    def _service_added(self, service_id: UUID, code: str) -> None:
        self.service_codes[code] = service_id

    def add_queue(self, queue_id: UUID) -> None:
        """Record a new queue in the directory."""
        self._queue_added(queue_id=queue_id)

    @event("QueueAdded")
    def _queue_added(self, queue_id: UUID) -> None:
        self.queue_ids.append(queue_id)

    def add_user(self, user_id: UUID) -> None:
        """Record a new staff user in the directory."""
        self._user_added(user_id=user_id)

    @event("UserAdded")
    def _user_added(self, user_id: UUID) -> None:
        self.user_ids.append(user_id)

    def add_device(self, device_id: UUID) -> None:
        """Record a new display or kiosk in the directory."""
        self._device_added(device_id=device_id)

    @event("DeviceAdded")
    def _device_added(self, device_id: UUID) -> None:
        self.device_ids = [*self.device_ids, device_id]

    def add_admin(self, user_id: UUID) -> None:
        """Count an active admin (a new one, a promotion or a reactivation)."""
        if user_id not in self.admin_ids:
            self._admin_added(user_id=user_id)

    @event("AdminAdded")
    def _admin_added(self, user_id: UUID) -> None:
        self.admin_ids = [*self.admin_ids, user_id]

    def remove_admin(self, user_id: UUID) -> None:
        """Stop counting an admin (demoted or deactivated); the last one cannot go."""
        if user_id not in self.admin_ids:
            return
        if len(self.admin_ids) == 1:
            raise LastAdmin("this is the tenant's last active admin; make another user admin first")
        self._admin_removed(user_id=user_id)

    @event("AdminRemoved")
    def _admin_removed(self, user_id: UUID) -> None:
        self.admin_ids = [admin for admin in self.admin_ids if admin != user_id]


class Site(Aggregate):
    """A physical branch, office or clinic: the time zone its days are counted in, and when it
    is open (local times, per weekday, plus dates it stays closed). ``opening_hours`` is
    ``None`` while never set: the site is then open at all times but on its closed dates."""

    class Registered(Aggregate.Created):
        """A site was registered; ``opening_hours`` is null when none were given."""

        class_version = 2
        tenant_id: UUID
        name: str
        timezone: str
        opening_hours: WeeklyHours | None
        closed_dates: list[str] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 registered a site given no hours with a week of closed days, which
            meant "never set" (open at all times): say so."""
            if not any((state.get("opening_hours") or {}).values()):
                state["opening_hours"] = None

    class OpeningHoursChanged(Aggregate.Event):
        """The weekly hours or the closed dates changed; ``hours_set`` false means the hours
        are still not set (``opening_hours`` is then a week of closed days, not enforced)."""

        class_version = 2
        opening_hours: WeeklyHours
        closed_dates: list[str]
        hours_set: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 had no ``hours_set``: a week of closed days meant hours not set."""
            state["hours_set"] = any(state["opening_hours"].values())

    @event(Registered)
    def __init__(
        self,
        tenant_id: UUID,
        name: str,
        timezone: str,
        opening_hours: WeeklyHours | None = None,
        closed_dates: list[str] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.timezone = timezone
        self.opening_hours: WeeklyHours | None = opening_hours
        self.closed_dates = list(closed_dates or [])

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)

    def check_open(self, instant: datetime) -> None:
        """Raise :class:`SiteClosed` (with the next opening) unless the site is open then."""
        if not is_open_at(self.opening_hours, self.closed_dates, self.zone, instant):
            opens_at = next_opening(self.opening_hours, self.closed_dates, self.zone, instant)
            raise SiteClosed(self.name, opens_at, self.zone)

    def rename(self, name: str) -> None:
        """Give the site another name."""
        name = check_name(name, "site")
        if name != self.name:
            self._renamed(name=name)

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def change_timezone(self, timezone: str) -> bool:
        """Count the site's days in another IANA time zone; True if it changed."""
        timezone = check_timezone(timezone)
        if timezone == self.timezone:
            return False
        self._timezone_changed(timezone=timezone)
        return True

    @event("TimezoneChanged")
    def _timezone_changed(self, timezone: str) -> None:
        self.timezone = timezone

    def change_hours(
        self, opening_hours: WeeklyHours | None = None, closed_dates: list[str] | None = None
    ) -> None:
        """Replace the weekly hours, the closed dates, or both (``None`` keeps one as it is).
        Hours given are set from then on, even a week of closed days."""
        hours = self.opening_hours if opening_hours is None else check_opening_hours(opening_hours)
        closed = self.closed_dates if closed_dates is None else check_closed_dates(closed_dates)
        if hours != self.opening_hours or closed != self.closed_dates:
            self._hours_changed(
                opening_hours=closed_week() if hours is None else hours,
                closed_dates=closed,
                hours_set=hours is not None,
            )

    @event(OpeningHoursChanged)
    def _hours_changed(
        self, opening_hours: WeeklyHours, closed_dates: list[str], hours_set: bool
    ) -> None:
        self.opening_hours = opening_hours if hours_set else None
        self.closed_dates = list(closed_dates)


class SiteClosed(Conflict):
    """Raised when a ticket is asked for at a site outside its opening hours (or on one of its
    closed dates); ``opens_at`` is when it opens next (UTC), if it does within a year."""

    code = "site_closed"

    def __init__(self, site_name: str, opens_at: datetime | None, zone: ZoneInfo) -> None:
        when = ""
        if opens_at is not None:
            local = opens_at.astimezone(zone)
            when = f"; it opens at {local:%Y-%m-%d %H:%M} ({zone.key} time)"
        super().__init__(f"{site_name} is closed now{when}")
        self.opens_at = opens_at


class Service(Aggregate):
    """Something customers come for (deposits, vaccinations); its code prefixes ticket numbers."""

    # How it is booked, as plain values; None until set (services recorded before booking
    # existed, and their snapshots, lack it): the default rules apply.
    booking: dict[str, int] | None = None

    @staticmethod
    def check_code(code: str) -> str:
        """Return the code if it is 1 to 3 capital letters, else raise."""
        if not SERVICE_CODE.match(code):
            raise InvalidInput("service code must be 1 to 3 capital letters, like A or DEP")
        return code

    @staticmethod
    def check_minutes(value: int, field: str) -> int:
        """Return a duration in minutes if it is 1 to 1440, else raise."""
        if not 1 <= value <= MAX_MINUTES:
            raise InvalidInput(f"{field} must be between 1 and {MAX_MINUTES}; got {value}")
        return value

    @event("Registered")
    def __init__(
        self,
        tenant_id: UUID,
        name: str,
        code: str,
        target_wait_minutes: int,
        expected_service_minutes: int,
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.code = code
        self.target_wait_minutes = target_wait_minutes
        self.expected_service_minutes = expected_service_minutes

    def check_code_unchanged(self, code: str) -> None:
        """The code is the service's natural key: printed on every ticket it has issued and
        used by analytics, so it never changes. Naming the current code is fine."""
        if code != self.code:
            raise InvalidInput(
                f"a service code cannot change (this one is {self.code!r}); "
                "create a new service for a new code"
            )

    def rename(self, name: str) -> None:
        """Give the service another name."""
        name = check_name(name, "service")
        if name != self.name:
            self._renamed(name=name)

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def change_targets(self, target_wait_minutes: int, expected_service_minutes: int) -> None:
        """New target wait and expected service time; tickets already waiting keep theirs."""
        self.check_minutes(target_wait_minutes, "target_wait_minutes")
        self.check_minutes(expected_service_minutes, "expected_service_minutes")
        if (target_wait_minutes, expected_service_minutes) != (
            self.target_wait_minutes,
            self.expected_service_minutes,
        ):
            self._targets_changed(
                target_wait_minutes=target_wait_minutes,
                expected_service_minutes=expected_service_minutes,
            )

    @event("TargetsChanged")
    def _targets_changed(self, target_wait_minutes: int, expected_service_minutes: int) -> None:
        self.target_wait_minutes = target_wait_minutes
        self.expected_service_minutes = expected_service_minutes

    @property
    def booking_rules(self) -> BookingRules:
        """How appointments for this service are booked (the defaults until set)."""
        return BookingRules.of(self.booking)

    def set_booking_rules(self, rules: BookingRules) -> None:
        """Book this service by new rules; appointments already booked keep their places."""
        if self.booking is None or rules != self.booking_rules:
            self._booking_rules_set(booking=rules.as_dict())

    @event("BookingRulesSet")
    def _booking_rules_set(self, booking: dict[str, int]) -> None:
        self.booking = dict(booking)


class UserAlreadyDeactivated(UserError):
    """Raised when a deactivated user is deactivated again (a retry, or a second manager)."""


class UserAlreadyActive(UserError):
    """Raised when an active user is reactivated."""


class StaffUser(Aggregate):
    """A person who signs in: an admin, a manager or an agent. No secret is ever stored here.

    ``scopes`` are extra rights granted on top of those the role confers.
    """

    @event("Registered")
    def __init__(self, id: UUID, tenant_id: UUID, email: str, name: str, role: str) -> None:
        self.tenant_id = tenant_id
        self.email = email
        self.name = name
        self.role = role
        self.active = True
        self.scopes: list[str] = []

    @property
    def is_active_admin(self) -> bool:
        """True if this user counts towards the tenant's active admins."""
        return self.active and self.role == Role.ADMIN

    @property
    def all_scopes(self) -> frozenset[str]:
        """Everything the user may do: the role's scopes and the extra ones."""
        return scopes_of(self.role, frozenset(self.scopes))

    def rename(self, name: str) -> None:
        """Change the name shown to colleagues and on displays."""
        name = check_name(name, "user")
        if name != self.name:
            self._renamed(name=name)

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def change_role(self, role: str) -> None:
        """Give the user another role (the tenant checks it keeps an admin)."""
        new_role = Role.parse(role).value
        if new_role != self.role:
            self._role_changed(role=new_role)

    @event("RoleChanged")
    def _role_changed(self, role: str) -> None:
        self.role = role

    def grant_scopes(self, scopes: list[str]) -> None:
        """Replace the extra scopes; unknown or platform-only ones are refused."""
        granted = sorted(str(scope) for scope in check_grantable(scopes))
        if granted != self.scopes:
            self._scopes_changed(scopes=granted)

    @event("ScopesChanged")
    def _scopes_changed(self, scopes: list[str]) -> None:
        self.scopes = list(scopes)

    def deactivate(self) -> None:
        """The user can no longer sign in or act; their history stays."""
        if not self.active:
            raise UserAlreadyDeactivated(f"user {self.email} is already deactivated")
        self._deactivated()

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.active = False

    def reactivate(self) -> None:
        """The user may sign in again, with the role and scopes they had."""
        if self.active:
            raise UserAlreadyActive(f"user {self.email} is already active")
        self._reactivated()

    @event("Reactivated")
    def _reactivated(self) -> None:
        self.active = True
