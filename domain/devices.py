"""Devices: hall displays and ticket kiosks of a site, signing in with their own secret.

A device's secret lives in the credential store, never in an event. Its pings live in Redis;
only the transitions between online and offline are recorded here.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput


class DeviceKind(StrEnum):
    """What a device is for; its rights follow from it."""

    DISPLAY = "display"  # shows queues and calls: reads only
    KIOSK = "kiosk"  # hands out tickets for the queues of its site

    @classmethod
    def parse(cls, value: str) -> DeviceKind:
        """Return the kind named ``value`` or raise :class:`InvalidInput`."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(kind.value for kind in cls)
            raise InvalidInput(f"unknown device kind {value!r}; expected one of {names}") from None


class DeviceError(Conflict):
    """Base of device refusals."""

    code = "device_conflict"


class DeviceRevoked(DeviceError):
    """Raised when a revoked device is changed, revoked again or given a new secret."""

    code = "device_revoked"


class Device(Aggregate):
    """A display or kiosk registered at one site of a tenant."""

    @event("Registered")
    def __init__(self, tenant_id: UUID, site_id: UUID, kind: str, name: str) -> None:
        self.tenant_id = tenant_id
        self.site_id = site_id
        self.kind = DeviceKind.parse(kind).value
        self.name = name
        self.revoked = False
        self.online = False

    def check_not_revoked(self) -> None:
        """Raise :class:`DeviceRevoked` if the device was revoked: nothing brings it back."""
        if self.revoked:
            raise DeviceRevoked(f"device {self.name!r} was revoked; register a new one")

    def rename(self, name: str) -> None:
        """Give the device another name."""
        self.check_not_revoked()
        if name != self.name:
            self._renamed(name=name)

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def move(self, site_id: UUID) -> bool:
        """Place the device at another site of the tenant; True if it moved."""
        self.check_not_revoked()
        if site_id == self.site_id:
            return False
        self._moved(site_id=site_id)
        return True

    @event("Moved")
    def _moved(self, site_id: UUID) -> None:
        self.site_id = site_id

    def rotate_secret(self) -> None:
        """Record that the device was given a new secret (the secret itself is never recorded)."""
        self.check_not_revoked()
        self._secret_rotated()

    @event("SecretRotated")
    def _secret_rotated(self) -> None:
        pass

    def revoke(self) -> None:
        """The device may never sign in again. A device online until now goes offline first."""
        self.check_not_revoked()
        self.go_offline()
        self._revoked()

    @event("Revoked")
    def _revoked(self) -> None:
        self.revoked = True

    def go_online(self) -> bool:
        """Record that the device started pinging; True if that is a transition."""
        if self.online or self.revoked:
            return False
        self._went_online()
        return True

    @event("WentOnline")
    def _went_online(self) -> None:
        self.online = True

    def go_offline(self) -> bool:
        """Record that the device stopped pinging; True if that is a transition."""
        if not self.online:
            return False
        self._went_offline()
        return True

    @event("WentOffline")
    def _went_offline(self) -> None:
        self.online = False
