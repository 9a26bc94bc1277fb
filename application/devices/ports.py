"""What the devices context needs from the outside world: the devices' hashed secrets
(PostgreSQL, written as side writes with the device's events) and their pings (Redis)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.ports import SideWrite


@dataclass(frozen=True)
class DeviceCredential:
    """A device's hashed secret. It lives in its own table, never in an event."""

    device_id: UUID
    tenant_id: UUID
    secret_hash: str
    active: bool = True


class DeviceCredentials(Protocol):
    """Devices' hashed secrets; writes are side writes committed with the device's events."""

    def insert(self, credential: DeviceCredential) -> SideWrite:
        """Store a new device's secret."""

    def replace(self, tenant_id: UUID, device_id: UUID, secret_hash: str) -> SideWrite:
        """Give the device a new secret; the old one stops working."""

    def deactivate(self, tenant_id: UUID, device_id: UUID) -> SideWrite:
        """The secret no longer signs in (revocation)."""

    def get(self, device_id: UUID) -> DeviceCredential | None:
        """The credential of a device, if any."""


@dataclass(frozen=True)
class Seen:
    """What Redis knows of a device's pings."""

    online: bool
    last_seen_at: datetime | None


class Presence(Protocol):
    """Pings in Redis: each refreshes an expiring "alive" key; a marker remembers which devices
    were last recorded online, so only transitions become events."""

    def touch(self, tenant_id: UUID, device_id: UUID) -> bool:
        """Record a ping now; True if the device is not marked online (a transition may be due)."""

    def alive(self, device_id: UUID) -> bool:
        """True while the device's last ping has not expired."""

    def marked_online(self, device_id: UUID) -> bool:
        """True if the device was last recorded online."""

    def mark(self, tenant_id: UUID, device_id: UUID, online: bool) -> None:
        """Remember the transition just recorded."""

    def transition(self, device_id: UUID) -> AbstractContextManager[bool]:
        """A short exclusive claim on the device's transitions (``SET NX``); yields False when
        another process holds it, so two racing pings record one transition."""

    def expired(self) -> list[UUID]:
        """Devices marked online whose last ping has expired."""

    def seen(self, tenant_id: UUID, device_ids: list[UUID]) -> dict[UUID, Seen]:
        """Online and last-seen time of each device."""

    def forget(self, tenant_id: UUID, device_id: UUID) -> None:
        """Drop everything about a revoked device."""
