"""Who may do what: the named scopes, and the scope set each role grants.

Every HTTP operation declares one scope; a token carries the scopes of its user's role plus any
extra scopes granted to that user. Platform administration is a separate role outside tenants.
"""

from __future__ import annotations

from enum import StrEnum

from domain.errors import InvalidInput, NotPermitted


class Scope(StrEnum):
    """A right to a family of operations, named ``resource:action``."""

    TICKETS_READ = "tickets:read"
    TICKETS_ISSUE = "tickets:issue"  # take a ticket in a queue (staff, kiosks)
    TICKETS_PRIORITIZE = "tickets:prioritize"  # issue with a priority above 0: staff only
    TICKETS_WRITE = "tickets:write"  # cancel tickets
    TICKETS_CALL = "tickets:call"  # call, start, pause, resume, recall, close, no-show, transfer
    QUEUES_READ = "queues:read"
    QUEUES_MANAGE = "queues:manage"  # open, reconfigure, pause, resume, close queues
    SERVICES_MANAGE = "services:manage"
    SITES_READ = "sites:read"
    SITES_MANAGE = "sites:manage"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"  # invite, change role or scopes, deactivate
    AGENTS_READ = "agents:read"
    AGENTS_STATUS = "agents:status"  # an agent's own availability and counter
    AGENTS_MANAGE = "agents:manage"  # other agents' queues and counters
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    CUSTOMERS_ERASE = "customers:erase"  # irreversible erasure of personal data
    STATS_READ = "stats:read"
    AUDIT_READ = "audit:read"
    NOTIFICATIONS_READ = "notifications:read"  # the delivery ledger (no address, no body)
    DEVICES_MANAGE = "devices:manage"  # register, rename, move, revoke displays and kiosks
    DEVICES_PING = "devices:ping"  # a device's own heartbeat: held by devices only
    NOTIFICATIONS_MANAGE = "notifications:manage"  # the tenant's templates and message settings
    TENANTS_MANAGE = "tenants:manage"  # platform administration only
    APPOINTMENTS_READ = "appointments:read"
    APPOINTMENTS_MANAGE = "appointments:manage"  # book, move, cancel for customers (staff)
    FEEDBACK_READ = "feedback:read"  # customers' feedback and its figures

    @classmethod
    def parse_all(cls, values: list[str]) -> frozenset[Scope]:
        """The scopes named in ``values``, or :class:`InvalidInput` naming the unknown ones."""
        known = {scope.value for scope in cls}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(f"unknown scopes: {', '.join(unknown)}")
        return frozenset(cls(value) for value in values)


AGENT_SCOPES = frozenset(
    {
        Scope.TICKETS_READ,
        Scope.TICKETS_ISSUE,
        Scope.TICKETS_PRIORITIZE,
        Scope.TICKETS_WRITE,
        Scope.TICKETS_CALL,
        Scope.QUEUES_READ,
        Scope.SITES_READ,
        Scope.AGENTS_READ,
        Scope.AGENTS_STATUS,
        Scope.CUSTOMERS_READ,
        Scope.CUSTOMERS_WRITE,
        Scope.APPOINTMENTS_READ,
        Scope.APPOINTMENTS_MANAGE,
    }
)
MANAGER_SCOPES = AGENT_SCOPES | {
    Scope.QUEUES_MANAGE,
    Scope.SERVICES_MANAGE,
    Scope.USERS_READ,
    Scope.AGENTS_MANAGE,
    Scope.CUSTOMERS_ERASE,
    Scope.STATS_READ,
    Scope.AUDIT_READ,
    Scope.NOTIFICATIONS_READ,
    Scope.DEVICES_MANAGE,
    Scope.FEEDBACK_READ,
}
ADMIN_SCOPES = MANAGER_SCOPES | {
    Scope.SITES_MANAGE,
    Scope.USERS_MANAGE,
    Scope.NOTIFICATIONS_MANAGE,
}
PLATFORM_ADMIN_SCOPES = frozenset({Scope.TENANTS_MANAGE})

ROLE_SCOPES: dict[str, frozenset[Scope]] = {
    "agent": AGENT_SCOPES,
    "manager": MANAGER_SCOPES,
    "admin": ADMIN_SCOPES,
    "platform_admin": PLATFORM_ADMIN_SCOPES,
}

# Devices sign in with their own secret and get role "device" with the narrow scopes of their
# kind. Where a device's scope lets it reach resources of several sites, the operation keeps it
# to its own site (a kiosk issues tickets only in its site's queues).
DEVICE_ROLE = "device"
DEVICE_SCOPES: dict[str, frozenset[Scope]] = {
    "display": frozenset(
        {Scope.QUEUES_READ, Scope.TICKETS_READ, Scope.STATS_READ, Scope.DEVICES_PING}
    ),
    "kiosk": frozenset({Scope.QUEUES_READ, Scope.TICKETS_ISSUE, Scope.DEVICES_PING}),
}
DEVICE_ONLY_SCOPES = frozenset({Scope.DEVICES_PING})

# Extra scopes a tenant may grant to one of its users: never platform administration, nor what
# only a device may do.
GRANTABLE = frozenset(Scope) - PLATFORM_ADMIN_SCOPES - DEVICE_ONLY_SCOPES


def check_grantable(values: list[str]) -> frozenset[Scope]:
    """Extra scopes for a tenant user, or :class:`InvalidInput` if one is unknown or reserved."""
    scopes = Scope.parse_all(values)
    reserved = sorted(scopes & PLATFORM_ADMIN_SCOPES)
    if reserved:
        raise InvalidInput(f"scopes reserved to platform administrators: {', '.join(reserved)}")
    devices_only = sorted(scopes & DEVICE_ONLY_SCOPES)
    if devices_only:
        raise InvalidInput(f"scopes reserved to devices: {', '.join(devices_only)}")
    return scopes


def scopes_of(role: str, extra: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    """What a user with ``role`` and ``extra`` scopes may do."""
    return frozenset(str(scope) for scope in ROLE_SCOPES.get(role, frozenset())) | frozenset(extra)


def device_rights(kind: str) -> frozenset[str]:
    """What a device of ``kind`` may do that a person may also hold: whoever registers the
    device, or learns its secret, must hold all of it. Its own heartbeat is left out."""
    return frozenset(str(scope) for scope in DEVICE_SCOPES[kind] - DEVICE_ONLY_SCOPES)


def check_can_grant(held: frozenset[str], *scope_sets: frozenset[str]) -> None:
    """Raise :class:`NotPermitted` unless ``held`` covers every scope in ``scope_sets``.

    The one rule for every principal with rights (staff users, devices): whoever creates,
    invites, changes or equips one must already hold every right it has and will have. Nobody
    grants what they lack, promotes someone above themselves, or acts on a more powerful user.
    """
    missing = sorted(frozenset().union(*scope_sets) - held)
    if missing:
        raise NotPermitted(
            f"you cannot grant, or act on a holder of, scopes you do not hold: {', '.join(missing)}"
        )
