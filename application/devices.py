"""Displays and kiosks: registration, their secrets and tokens, what they may reach, presence.

A device's secret is shown once, stored hashed beside the device's events (a side write in the
same transaction), and exchanged for short-lived access tokens of role ``device`` that carry the
device's site. Pings live in Redis; only online/offline transitions become events.
"""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec
import structlog

from application.app import SmartQueue
from application.base import retry_on_conflict
from application.context import CommandContext
from application.errors import AuthenticationFailed
from application.paging import Page, PageRequest, paginate
from application.ports import LoginLimiter, PasswordHasher, SideWrite, TokenService, TokenSubject
from application.sign_in import SecretSignIn
from domain.access import DEVICE_ROLE, DEVICE_SCOPES, device_rights
from domain.devices import Device, DeviceKind, DeviceRevoked
from domain.errors import NotFound, NotPermitted, QueueNotFound, ResourceNotFound
from domain.queues import Queue
from domain.tenancy import Site, Tenant, check_name

log = structlog.get_logger(__name__)


class DeviceNotFound(ResourceNotFound):
    """Raised when no device has the given id in this tenant."""

    code = "device_not_found"


class DeviceAuthenticationFailed(AuthenticationFailed):
    """Raised when a device id and secret do not match an active device."""

    code = "device_authentication_failed"


class WrongSite(NotPermitted):
    """Raised when a device acts on a queue of another site than its own."""

    code = "wrong_site"


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


class Devices:
    """Device commands and queries on top of the SmartQueue application."""

    def __init__(
        self,
        app: SmartQueue,
        credentials: DeviceCredentials,
        tokens: TokenService,
        hasher: PasswordHasher,
        limiter: LoginLimiter,
        presence: Presence,
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.tokens = tokens
        self.hasher = hasher
        self.limiter = limiter
        self.presence = presence
        self.secret_check = SecretSignIn(hasher, limiter)

    # -- managing devices -------------------------------------------------------------------------

    def register_device(
        self, context: CommandContext, site_id: UUID, kind: str, name: str
    ) -> DeviceWithSecret:
        """Register a display or kiosk at a site of the tenant; its secret is returned once.

        The caller must hold every right the device will have (``NotPermitted`` otherwise).
        """
        kind = DeviceKind.parse(kind).value
        context.check_can_grant(device_rights(kind))
        name = check_name(name, "device")
        secret = new_secret()
        secret_hash = self.hasher.hash(secret)
        device = self._register(context, site_id, kind, name, secret_hash)
        return DeviceWithSecret(device=self._view(device), secret=secret)

    @retry_on_conflict
    def _register(
        self, context: CommandContext, site_id: UUID, kind: str, name: str, secret_hash: str
    ) -> Device:
        tenant = self.app.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = self.app.load(Site, site_id, tenant.id, ResourceNotFound)
        device = Device(tenant_id=tenant.id, site_id=site.id, kind=kind, name=name)
        tenant.add_device(device.id)
        credential = DeviceCredential(device.id, tenant.id, secret_hash)
        self.app.save_in_context(
            context, tenant, device, side_writes=[self.credentials.insert(credential)]
        )
        return device

    @retry_on_conflict
    def change_device(
        self,
        context: CommandContext,
        device_id: UUID,
        *,
        name: str | None = None,
        site_id: UUID | None = None,
    ) -> DeviceView:
        """Rename a device or move it to another site; naming a site signs it out (its tokens
        may name its old site), also when it is there already, so a retry after a failure
        completes the sign-out."""
        device = self._load(context.tenant_id, device_id)
        if name is not None:
            device.rename(check_name(name, "device"))
        if site_id is not None:
            site = self.app.load(Site, site_id, context.tenant_id, ResourceNotFound)
            device.move(site.id)
        self.app.save_in_context(context, device)
        if site_id is not None:
            self.tokens.revoke_user(device.id)
        return self._view(device)

    def rotate_secret(self, context: CommandContext, device_id: UUID) -> DeviceWithSecret:
        """A new secret, shown once; the old one and every token issued with it stop working.

        Whoever learns the secret holds the device's rights, so the caller must hold them too.
        """
        secret = new_secret()
        secret_hash = self.hasher.hash(secret)
        device = self._rotate(context, device_id, secret_hash)
        self.tokens.revoke_user(device.id)
        return DeviceWithSecret(device=self._view(device), secret=secret)

    @retry_on_conflict
    def _rotate(self, context: CommandContext, device_id: UUID, secret_hash: str) -> Device:
        device = self._load(context.tenant_id, device_id)
        context.check_can_grant(device_rights(device.kind))
        device.rotate_secret()
        self.app.save_in_context(
            context,
            device,
            side_writes=[self.credentials.replace(device.tenant_id, device.id, secret_hash)],
        )
        return device

    def revoke_device(self, context: CommandContext, device_id: UUID) -> DeviceView:
        """The device can never sign in again, and every token it holds is refused at once.

        Revoking a revoked device still answers ``DeviceRevoked`` (409), after refusing its
        tokens again: a retry after a failure between the event and the denylist completes it.
        """
        try:
            device = self._revoke(context, device_id)
        except DeviceRevoked:
            self.tokens.revoke_user(device_id)
            self.presence.forget(context.tenant_id, device_id)  # type: ignore[arg-type]
            raise
        self.tokens.revoke_user(device.id)
        self.presence.forget(device.tenant_id, device.id)
        return self._view(device)

    @retry_on_conflict
    def _revoke(self, context: CommandContext, device_id: UUID) -> Device:
        device = self._load(context.tenant_id, device_id)
        device.revoke()
        self.app.save_in_context(
            context, device, side_writes=[self.credentials.deactivate(device.tenant_id, device.id)]
        )
        return device

    def get_device(self, tenant_id: UUID, device_id: UUID) -> DeviceView:
        """One device with its presence."""
        return self._view(self._load(tenant_id, device_id))

    def list_devices(
        self,
        tenant_id: UUID,
        page: PageRequest | None = None,
        *,
        site_id: UUID | None = None,
        online: bool | None = None,
    ) -> Page[DeviceView]:
        """A page of the tenant's devices, oldest first, optionally of one site or only those
        online (or offline). A tenant has tens of devices, not thousands: all are loaded."""
        tenant = self.app.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        devices = [self._load(tenant_id, device_id) for device_id in tenant.device_ids]
        seen = self.presence.seen(tenant_id, [device.id for device in devices])
        views = [_device_view(device, seen[device.id]) for device in devices]
        wanted = [
            view
            for view in views
            if (site_id is None or view.site_id == site_id)
            and (online is None or view.online is online)
        ]
        return paginate(wanted, lambda view: str(view.id), page or PageRequest())

    def _load(self, tenant_id: UUID | None, device_id: UUID) -> Device:
        return self.app.load(Device, device_id, tenant_id, DeviceNotFound)

    def _view(self, device: Device) -> DeviceView:
        return _device_view(device, self.presence.seen(device.tenant_id, [device.id])[device.id])

    # -- signing in -------------------------------------------------------------------------------

    def sign_in(
        self, device_id: UUID, secret: str, client_address: str | None = None
    ) -> DeviceToken:
        """An access token for the device, or :class:`DeviceAuthenticationFailed`.

        Attempts are counted like staff sign-ins; unknown and known devices cost the same.
        """
        refused = DeviceAuthenticationFailed("invalid device id or secret")
        credential = self.secret_check.admit(
            f"device:{device_id}",
            client_address,
            secret,
            lambda: self.credentials.get(device_id),
            refused,
        )
        device = self.app.find(Device, device_id)
        if device is None or device.revoked or device.tenant_id != credential.tenant_id:
            raise refused
        tokens = self.tokens.issue(
            TokenSubject(
                user_id=device.id,
                tenant_id=device.tenant_id,
                role=DEVICE_ROLE,
                scopes=frozenset(str(scope) for scope in DEVICE_SCOPES[device.kind]),
                site_id=device.site_id,
            )
        )
        return DeviceToken(
            access_token=tokens.access_token,
            expires_in=tokens.expires_in,
            device=self._view(device),
        )

    # -- what a device may reach ------------------------------------------------------------------

    def check_queue_site(
        self,
        tenant_id: UUID,
        site_id: UUID | None,
        queue_id: UUID,
        missing: NotFound | None = None,
    ) -> None:
        """For a device kept to ``site_id``, the queue must be at that site: another site's
        queue raises ``missing`` when given (a display reading it learns nothing), else
        :class:`WrongSite` (a kiosk asked to issue there). Staff (``site_id`` ``None``) pass."""
        if site_id is None:
            return
        queue = self.app.load(Queue, queue_id, tenant_id, QueueNotFound)
        if queue.site_id != site_id:
            if missing is not None:
                raise missing
            raise WrongSite("this device may only act on the queues of its own site")

    # -- presence ---------------------------------------------------------------------------------

    def ping(self, context: CommandContext, device_id: UUID) -> DeviceView:
        """The device is alive. The first ping after it was offline records WentOnline, once
        even when pings race (the transition is claimed with ``SET NX``)."""
        tenant_id = context.tenant_id
        if tenant_id is None:
            raise DeviceNotFound(f"no device with id {device_id}")
        if self.presence.touch(tenant_id, device_id):
            with self.presence.transition(device_id) as claimed:
                if claimed and not self.presence.marked_online(device_id):
                    self._record_online(context, device_id)
        return self.get_device(tenant_id, device_id)

    @retry_on_conflict
    def _record_online(self, context: CommandContext, device_id: UUID) -> None:
        device = self._load(context.tenant_id, device_id)
        if device.revoked:
            return
        device.go_online()  # False after a crash between the event and the marker: no event
        self.app.save_in_context(context, device)
        self.presence.mark(device.tenant_id, device.id, online=True)

    def sweep(self) -> int:
        """Record WentOffline for every device whose pings expired; the number recorded.

        Devices of another deployment sharing the Redis database are left alone.
        """
        recorded = 0
        for device_id in self.presence.expired():
            device = self.app.find(Device, device_id)
            if device is None:
                continue
            with self.presence.transition(device_id) as claimed:
                if claimed and not self.presence.alive(device_id):
                    recorded += self._record_offline(device_id)
        return recorded

    @retry_on_conflict
    def _record_offline(self, device_id: UUID) -> int:
        device = self.app.find(Device, device_id)
        if device is None:
            return 0
        changed = device.go_offline()
        self.app.save_in_context(CommandContext.system(device.tenant_id, "presence"), device)
        self.presence.mark(device.tenant_id, device.id, online=False)
        if changed:
            log.info("device offline", device_id=str(device.id), tenant_id=str(device.tenant_id))
        return int(changed)


def _device_view(device: Device, seen: Seen) -> DeviceView:
    return DeviceView(
        id=device.id,
        site_id=device.site_id,
        kind=device.kind,
        name=device.name,
        revoked=device.revoked,
        online=seen.online and not device.revoked,
        last_seen_at=seen.last_seen_at,
    )
