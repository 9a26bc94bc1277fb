"""The Litestar application factory: a composition root."""

from __future__ import annotations

from litestar import Litestar
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from infrastructure.container import Container, build_container
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, load_settings
from interfaces.http.controllers.agents import AgentController
from interfaces.http.controllers.auth import AuthController
from interfaces.http.controllers.health import HealthController
from interfaces.http.controllers.queues import QueueController
from interfaces.http.controllers.tenancy import ServiceController, SiteController
from interfaces.http.controllers.tickets import TicketController
from interfaces.http.controllers.users import UserController
from interfaces.http.errors import EXCEPTION_HANDLERS
from interfaces.http.middleware import RequestContextMiddleware

API_VERSION = "1.0.0"


def openapi_config() -> OpenAPIConfig:
    """OpenAPI 3.1 at /schema/openapi.json; Scalar at /schema, Swagger UI at /schema/swagger."""
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
        security=[{"BearerToken": []}],
    )


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    """Build the API. Connections are opened at startup, never at import."""
    settings = settings or load_settings()
    configure_logging(settings.log)
    owned = container is None

    def open_container(app: Litestar) -> None:
        app.state.container = container or build_container(settings)

    def close_container(app: Litestar) -> None:
        if owned and getattr(app.state, "container", None) is not None:
            app.state.container.close()

    return Litestar(
        route_handlers=[
            HealthController,
            AuthController,
            SiteController,
            ServiceController,
            QueueController,
            UserController,
            TicketController,
            AgentController,
        ],
        on_startup=[open_container],
        on_shutdown=[close_container],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(RequestContextMiddleware)],
        openapi_config=openapi_config(),
        logging_config=None,  # structlog is configured once, by configure_logging
        debug=False,
    )
