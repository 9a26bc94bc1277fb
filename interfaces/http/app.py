"""The Litestar application factory: a composition root."""

from __future__ import annotations

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OpenAPI, Schema, SecurityScheme

from infrastructure.container import Container, build_container
from infrastructure.logging import configure_logging
from infrastructure.redis.server import resolve_redis_url
from infrastructure.settings import Settings, current_settings
from interfaces.http.consistency import add_position_headers
from interfaces.http.controllers.agents import AgentController
from interfaces.http.controllers.audit import AuditController
from interfaces.http.controllers.auth import AuthController
from interfaces.http.controllers.customers import CustomerController
from interfaces.http.controllers.devices import DeviceAuthController, DeviceController
from interfaces.http.controllers.events import asyncapi
from interfaces.http.controllers.health import HealthController
from interfaces.http.controllers.live import (
    SocketTicketController,
    agent_socket,
    channels_plugin,
    queue_socket,
)
from interfaces.http.controllers.platform import TenantController
from interfaces.http.controllers.public import (
    JoinQrController,
    PublicSiteController,
    PublicTicketController,
)
from interfaces.http.controllers.public_live import public_ticket_socket
from interfaces.http.controllers.queues import QueueController
from interfaces.http.controllers.stats import StatsController
from interfaces.http.controllers.tenancy import ServiceController, SiteController
from interfaces.http.controllers.tickets import TicketController
from interfaces.http.controllers.users import UserController
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
            AgentController,
            CustomerController,
            AuditController,
            StatsController,
            asyncapi,
            DeviceController,
            DeviceAuthController,
            SocketTicketController,
            PublicSiteController,
            PublicTicketController,
            public_ticket_socket,
            JoinQrController,
            queue_socket,
            agent_socket,
            pages_router(),
        ],
        plugins=[channels_plugin(redis_url, settings.live.socket_backlog)],
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
