"""What clients see of devices, and the errors of the devices context."""

from __future__ import annotations

import secrets
from datetime import datetime
from uuid import UUID

import msgspec

from application.devices.ports import Seen
from application.errors import AuthenticationFailed
from domain.devices import Device
from domain.errors import NotPermitted, ResourceNotFound


class DeviceNotFound(ResourceNotFound):
    """Raised when no device has the given id in this tenant."""

    code = "device_not_found"


class DeviceAuthenticationFailed(AuthenticationFailed):
    """Raised when a device id and secret do not match an active device."""

    code = "device_authentication_failed"


class WrongSite(NotPermitted):
    """Raised when a device acts on a queue of another site than its own."""

    code = "wrong_site"


class DeviceView(msgspec.Struct, kw_only=True):
    """A display or kiosk as managers see it, without any secret."""

    id: UUID
    site_id: UUID
    kind: str
    name: str
    revoked: bool
    online: bool
    """The device pinged within the presence window."""
    last_seen_at: datetime | None


class DeviceWithSecret(msgspec.Struct, kw_only=True):
    """A device and its secret: the only time the secret is ever shown."""

    device: DeviceView
    secret: str


class DeviceToken(msgspec.Struct, kw_only=True):
    """A short-lived access token for a device (no refresh token: the secret signs in again)."""

    access_token: str
    expires_in: int
    device: DeviceView
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def device_view(device: Device, seen: Seen) -> DeviceView:
    return DeviceView(
        id=device.id,
        site_id=device.site_id,
        kind=device.kind,
        name=device.name,
        revoked=device.revoked,
        online=seen.online and not device.revoked,
        last_seen_at=seen.last_seen_at,
    )
