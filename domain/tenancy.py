"""Tenants and their resources: sites, services and staff users.

The Tenant aggregate is also the tenant's directory (which sites, services, queues and users exist),
so listing them needs no read model and a service code stays unique per tenant.
"""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateResource, InvalidInput

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
SERVICE_CODE = re.compile(r"^[A-Z]{1,3}$")


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


class Site(Aggregate):
    """A physical branch, office or clinic, with the time zone its days are counted in."""

    @event("Registered")
    def __init__(self, tenant_id: UUID, name: str, timezone: str) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.timezone = timezone


class Service(Aggregate):
    """Something customers come for (deposits, vaccinations); its code prefixes ticket numbers."""

    @staticmethod
    def check_code(code: str) -> str:
        """Return the code if it is 1 to 3 capital letters, else raise."""
        if not SERVICE_CODE.match(code):
            raise InvalidInput("service code must be 1 to 3 capital letters, like A or DEP")
        return code

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


class StaffUser(Aggregate):
    """A person who signs in: an admin, a manager or an agent. No secret is ever stored here."""

    @event("Registered")
    def __init__(self, id: UUID, tenant_id: UUID, email: str, name: str, role: str) -> None:
        self.tenant_id = tenant_id
        self.email = email
        self.name = name
        self.role = role
        self.active = True
