"""Displays and kiosks: registration, their secrets and tokens, what they may reach, presence.

A device's secret is shown once, stored hashed beside the device's events (a side write in the
same transaction), and exchanged for short-lived access tokens of role ``device`` that carry the
device's site. Pings live in Redis; only online/offline transitions become events.
"""

from __future__ import annotations

from uuid import UUID

import structlog

from application.app import SmartQueue
from application.base import retry_on_conflict
from application.context import CommandContext
from application.devices.ports import DeviceCredential, DeviceCredentials, Presence
from application.devices.views import (
    DeviceAuthenticationFailed,
    DeviceNotFound,
    DeviceToken,
    DeviceView,
    DeviceWithSecret,
    WrongSite,
    device_view,
    new_secret,
)
from application.paging import Page, PageRequest, paginate
from application.ports import TokenService, TokenSubject
from application.sign_in import SecretSignIn
from domain.access import DEVICE_ROLE, DEVICE_SCOPES, device_rights
from domain.devices import Device, DeviceKind, DeviceRevoked
from domain.errors import NotFound, QueueNotFound, ResourceNotFound
from domain.queues import Queue
from domain.tenancy import Site, Tenant, check_name

log = structlog.get_logger(__name__)


class Devices:
    """Device commands and queries: managing displays and kiosks, their sign-in, what they
    may reach and their presence."""

    def __init__(
        self,
        store: SmartQueue,
        credentials: DeviceCredentials,
        tokens: TokenService,
        sign_in: SecretSignIn,
        presence: Presence,
    ) -> None:
        self.store = store
        self.credentials = credentials
        self.tokens = tokens
        self.hasher = sign_in.hasher
        self.presence = presence
        self.secret_check = sign_in

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
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = self.store.load(Site, site_id, tenant.id, ResourceNotFound)
        device = Device(tenant_id=tenant.id, site_id=site.id, kind=kind, name=name)
        tenant.add_device(device.id)
        credential = DeviceCredential(device.id, tenant.id, secret_hash)
        self.store.save_in_context(
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
            site = self.store.load(Site, site_id, context.tenant_id, ResourceNotFound)
            device.move(site.id)
        self.store.save_in_context(context, device)
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
        self.store.save_in_context(
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
        self.store.save_in_context(
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
        tenant = self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        devices = [self._load(tenant_id, device_id) for device_id in tenant.device_ids]
        seen = self.presence.seen(tenant_id, [device.id for device in devices])
        views = [device_view(device, seen[device.id]) for device in devices]
        wanted = [
            view
            for view in views
            if (site_id is None or view.site_id == site_id)
            and (online is None or view.online is online)
        ]
        return paginate(wanted, lambda view: str(view.id), page or PageRequest())

    def _load(self, tenant_id: UUID | None, device_id: UUID) -> Device:
        return self.store.load(Device, device_id, tenant_id, DeviceNotFound)

    def _view(self, device: Device) -> DeviceView:
        return device_view(device, self.presence.seen(device.tenant_id, [device.id])[device.id])

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
        device = self.store.find(Device, device_id)
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
        queue = self.store.load(Queue, queue_id, tenant_id, QueueNotFound)
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
        self.store.save_in_context(context, device)
        self.presence.mark(device.tenant_id, device.id, online=True)

    def sweep(self) -> int:
        """Record WentOffline for every device whose pings expired; the number recorded.

        Devices of another deployment sharing the Redis database are left alone.
        """
        recorded = 0
        for device_id in self.presence.expired():
            device = self.store.find(Device, device_id)
            if device is None:
                continue
            with self.presence.transition(device_id) as claimed:
                if claimed and not self.presence.alive(device_id):
                    recorded += self._record_offline(device_id)
        return recorded

    @retry_on_conflict
    def _record_offline(self, device_id: UUID) -> int:
        device = self.store.find(Device, device_id)
        if device is None:
            return 0
        changed = device.go_offline()
        self.store.save_in_context(CommandContext.system(device.tenant_id, "presence"), device)
        self.presence.mark(device.tenant_id, device.id, online=False)
        if changed:
            log.info("device offline", device_id=str(device.id), tenant_id=str(device.tenant_id))
        return int(changed)
