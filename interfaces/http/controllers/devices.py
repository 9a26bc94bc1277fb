"""Displays and kiosks: managers register them; devices sign in with their secret and ping."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UNSET, UnsetType

from application.devices import Devices, DeviceToken, DeviceView, DeviceWithSecret
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from domain.devices import DeviceKind
from interfaces.http.controllers.auth import client_address
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import Body, Name, given, one_of
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)

KindName = one_of(DeviceKind)
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
SiteFilter = Annotated[
    UUID | None, QueryParameter(name="site_id", description="Only the devices of this site")
]
OnlineFilter = Annotated[
    bool | None,
    QueryParameter(name="online", description="Only the devices online (true) or offline (false)"),
]


class DeviceCreate(Body):
    """Register a display or a kiosk at a site."""

    site_id: UUID
    kind: KindName  # type: ignore[valid-type]
    name: Name


class DevicePatch(Body):
    """Rename a device or move it to another site (which signs it out); only fields sent change."""

    name: Name | UnsetType = UNSET
    site_id: UUID | UnsetType = UNSET


class DeviceSignIn(Body):
    """A device's id and the secret shown when it was registered (or its secret last rotated)."""

    device_id: UUID
    secret: Secret


class DeviceController(Controller):
    """The tenant's displays and kiosks. Their secrets are shown once and stored hashed."""

    path = f"{TENANT_PATH}/devices"
    tags = ["devices"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listDevices",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422),
        **scoped("devices:manage"),
    )
    def list_devices(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
        site_id: SiteFilter = None,
        online: OnlineFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[DeviceView]:
        """A page of the tenant's devices, oldest first, with whether each is online and when
        it last pinged; filter by site and by online."""
        page = devices.list_devices(
            member.tenant_id, page_request(cursor, limit), site_id=site_id, online=online
        )
        return to_response(page, limit)

    @post(
        "/",
        operation_id="registerDevice",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("devices:manage"),
    )
    def register(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[DeviceCreate],
    ) -> DeviceWithSecret:
        """Register a device at a site. The answer holds its secret: shown this once only."""
        return devices.register_device(
            command_context(request, member), data.site_id, data.kind, data.name
        )

    @post(
        "/ping",
        operation_id="pingDevice",
        status_code=200,
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 503),
        **scoped("devices:ping"),
    )
    def ping(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
    ) -> DeviceView:
        """The calling device is alive (device tokens only). Ping well within the presence
        window; going online or offline is recorded as an event, a ping otherwise is not."""
        return devices.ping(command_context(request, member), member.user_id)

    @get(
        "/{device_id:uuid}",
        operation_id="getDevice",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("devices:manage"),
    )
    def get_device(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
        device_id: FromPath[UUID],
    ) -> DeviceView:
        """One device with its presence."""
        return devices.get_device(member.tenant_id, device_id)

    @patch(
        "/{device_id:uuid}",
        operation_id="updateDevice",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("devices:manage"),
    )
    def update_device(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
        device_id: FromPath[UUID],
        data: JSONBody[DevicePatch],
    ) -> DeviceView:
        """Rename a device or move it to another site; a move revokes its tokens."""
        return devices.change_device(
            command_context(request, member),
            device_id,
            name=given(data.name),
            site_id=given(data.site_id),
        )

    @post(
        "/{device_id:uuid}/revoke",
        operation_id="revokeDevice",
        status_code=200,
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("devices:manage"),
    )
    def revoke(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
        device_id: FromPath[UUID],
    ) -> DeviceView:
        """The device can never sign in again; its tokens are refused at once (401)."""
        return devices.revoke_device(command_context(request, member), device_id)

    @post(
        "/{device_id:uuid}/rotate-secret",
        operation_id="rotateDeviceSecret",
        status_code=200,
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("devices:manage"),
    )
    def rotate_secret(
        self,
        devices: UseCase[Devices],
        request: Request,
        member: NamedDependency[Principal],
        device_id: FromPath[UUID],
    ) -> DeviceWithSecret:
        """A new secret, shown this once; the old secret and the device's tokens stop working."""
        return devices.rotate_secret(command_context(request, member), device_id)


class DeviceAuthController(Controller):
    """Devices sign in with their id and secret; no refresh token (the secret signs in again)."""

    path = "/api/v1/auth/device"
    tags = ["auth"]

    @post(
        "/",
        operation_id="deviceLogin",
        status_code=200,
        sync_to_thread=True,
        security=[],
        responses=problems(400, 401, 429, 503),
    )
    def sign_in(
        self, devices: UseCase[Devices], request: Request, data: JSONBody[DeviceSignIn]
    ) -> DeviceToken:
        """Exchange a device's id and secret for a short-lived access token of role ``device``:
        a kiosk may issue tickets in its site's queues, a display may only read its site's."""
        return devices.sign_in(data.device_id, data.secret, client_address(request))
