"""The Litestar application factory: a composition root."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPI, Schema, SecurityScheme

from infrastructure.container import Container, build_container
from infrastructure.logging import configure_logging
from infrastructure.redis.channels import agent_channel, heartbeat_channel, queue_channel
from infrastructure.redis.server import resolve_redis_url
from infrastructure.settings import Settings, current_settings
from interfaces.asyncapi import asyncapi_document
from interfaces.http.consistency import add_position_headers
from interfaces.http.controllers.agents import AgentController
from interfaces.http.controllers.analytics import AnalyticsController, VisitExportController
from interfaces.http.controllers.appointments import AppointmentController
from interfaces.http.controllers.audit import AuditController
from interfaces.http.controllers.auth import AuthController
from interfaces.http.controllers.availability import AvailabilityController
from interfaces.http.controllers.customers import CustomerController
from interfaces.http.controllers.devices import DeviceAuthController, DeviceController
from interfaces.http.controllers.events import asyncapi
from interfaces.http.controllers.feedback import FeedbackController, PublicFeedbackController
from interfaces.http.controllers.health import HealthController
from interfaces.http.controllers.live import (
    LiveSockets,
    SocketTicketController,
    agent_socket,
    channels_plugin,
    queue_socket,
)
from interfaces.http.controllers.notification_setup import (
    NotificationSettingsController,
    NotificationTemplateController,
)
from interfaces.http.controllers.notifications import NotificationController
from interfaces.http.controllers.platform import TenantController
from interfaces.http.controllers.public import (
    JoinQrController,
    PublicJoinSettingsController,
    PublicSiteController,
    PublicTicketController,
)
from interfaces.http.controllers.public_booking import (
    PublicAppointmentController,
    PublicBookingController,
    PublicHoldController,
)
from interfaces.http.controllers.public_live import public_ticket_socket
from interfaces.http.controllers.queues import QueueController
from interfaces.http.controllers.stats import StatsController
from interfaces.http.controllers.tenancy import ServiceController, SiteController
from interfaces.http.controllers.tickets import TicketController
from interfaces.http.controllers.users import UserController
from interfaces.http.controllers.webhooks import ProviderCallbackController, WebhookController
from interfaces.http.errors import EXCEPTION_HANDLERS
from interfaces.http.middleware import RequestContextMiddleware
from interfaces.http.pages import pages_router
from interfaces.http.schemas import Body

API_VERSION = "1.0.0"


def openapi_config() -> OpenAPIConfig:
    """OpenAPI 3.1 at /schema/openapi.json; Scalar at /schema, Swagger UI at /schema/swagger (the
    event contract's AsyncAPI document is beside it, at /schema/asyncapi.json)."""
    return OpenAPIConfig(
        title="SmartQueue API",
        version=API_VERSION,
        description="Multi-tenant queue management. Errors are RFC 9457 application/problem+json.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="From POST /api/v1/auth/ (legacy 'Token' scheme accepted).",
                )
            }
        ),
    )


def forbid_extra_fields(document: OpenAPI) -> OpenAPI:
    """Request bodies refuse unknown fields (``forbid_unknown_fields``); say so in the schema
    (``additionalProperties: false``), which Litestar does not derive from msgspec by itself."""
    strict = {cls.__name__ for cls in _subclasses(Body)}
    schemas = document.components.schemas if document.components else None
    for name, schema in (schemas or {}).items():
        if name in strict and isinstance(schema, Schema):
            schema.additional_properties = False
    return document


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def live_sockets(container: Container) -> LiveSockets:
    """What the live sockets need, with the channel names the display gateway publishes on."""
    live = container.settings.live
    return LiveSockets(
        identity=container.identity,
        devices=container.devices,
        queues=container.queues,
        views=container.live,
        tickets=container.socket_tickets,
        slots=container.socket_slots,
        queue_channel=queue_channel,
        agent_channel=agent_channel,
        heartbeat_channel=heartbeat_channel(live.gateway_group),
        token_check_seconds=live.token_check_seconds,
    )


USE_CASES: dict[str, Callable[[Container], Any]] = {
    "tenancy": attrgetter("tenancy"),
    "catalogue": attrgetter("catalogue"),
    "appointments": attrgetter("appointments"),
    "availability": attrgetter("availability"),
    "check_ins": attrgetter("check_ins"),
    "queues": attrgetter("queues"),
    "tickets": attrgetter("tickets"),
    "staffing": attrgetter("staffing"),
    "customers": attrgetter("customers"),
    "identity": attrgetter("identity"),
    "devices": attrgetter("devices"),
    "ticket_queries": attrgetter("ticket_queries"),
    "stats": attrgetter("stats"),
    "audit": attrgetter("audit"),
    "notifications": attrgetter("notifications"),
    "agent_board": attrgetter("agent_board"),
    "consistency": attrgetter("consistency"),
    "notification_setup": attrgetter("notification_setup"),
    "webhooks": attrgetter("webhooks"),
    "delivery_reports": attrgetter("delivery_reports"),
    "probe": attrgetter("readiness"),
    "max_waiting": lambda container: container.settings.limits.queue_max_waiting or None,
    "public": attrgetter("public"),
    "public_booking": attrgetter("public_booking"),
    "join_codes": attrgetter("join_codes"),
    "feedback": attrgetter("feedback"),
    "feedback_reports": attrgetter("feedback_reports"),
    "analytics": attrgetter("analytics"),
    "public_base_url": lambda container: container.settings.public.base_url,
    "sockets": live_sockets,
    "event_contract": lambda container: asyncapi_document(),
}
"""What handlers may receive (``UseCase[T]``), by the name they declare it under: the
container's contexts and query services, and the few values built from its settings. Handlers
never see the container itself, nor a pool, Redis or the read engine."""


def _provider(name: str) -> Provide:
    """Hands a handler what ``USE_CASES`` built under ``name`` when the process started."""

    def provide(state: State) -> Any:
        return state.use_cases[name]

    return Provide(provide, sync_to_thread=False)


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the API. Connections are opened at startup, never at import."""
    settings = settings or current_settings()
    configure_logging(settings.log)
    owned = container is None
    # Live updates reach every API process through Redis (the embedded one is started here when
    # no REDIS_URL is set, as the container would at startup).
    redis_url = container.redis_url if container else resolve_redis_url(settings)

    def open_container(app: Litestar) -> None:
        app.state.container = container or build_container(settings)
        app.state.use_cases = {
            name: build(app.state.container) for name, build in USE_CASES.items()
        }

    def close_container(app: Litestar) -> None:
        if owned and getattr(app.state, "container", None) is not None:
            app.state.container.close()

    app = Litestar(
        route_handlers=[
            HealthController,
            AuthController,
            TenantController,
            SiteController,
            ServiceController,
            QueueController,
            UserController,
            TicketController,
            AppointmentController,
            AvailabilityController,
            AgentController,
            CustomerController,
            WebhookController,
            ProviderCallbackController,
            AuditController,
            NotificationController,
            StatsController,
            AnalyticsController,
            VisitExportController,
            NotificationTemplateController,
            NotificationSettingsController,
            asyncapi,
            DeviceController,
            DeviceAuthController,
            SocketTicketController,
            PublicSiteController,
            PublicTicketController,
            PublicBookingController,
            PublicHoldController,
            PublicAppointmentController,
            public_ticket_socket,
            JoinQrController,
            PublicJoinSettingsController,
            PublicFeedbackController,
            FeedbackController,
            queue_socket,
            agent_socket,
            pages_router(),
        ],
        plugins=[channels_plugin(redis_url, settings.live.socket_backlog)],
        dependencies={name: _provider(name) for name in USE_CASES},
        on_startup=[open_container],
        on_shutdown=[close_container],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(RequestContextMiddleware)],
        after_request=add_position_headers,
        openapi_config=openapi_config(),
        logging_config=None,  # structlog is configured once, by configure_logging
        debug=False,
    )
    forbid_extra_fields(app.openapi_schema)
    return app
