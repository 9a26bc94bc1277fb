"""Webhooks: a tenant's signed outbound subscriptions, their delivery log, a test ping and
redelivery; and the providers' status callbacks (no token: the provider's signature)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body as BodyParam
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from application.delivery_reports import DeliveryReports
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.webhooks import (
    CreatedSubscription,
    SubscriptionView,
    WebhookDeliveryView,
    Webhooks,
)
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import WebhookCreate, WebhookPatch
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404, 422)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)
SCOPE = "sites:manage"  # the tenant's administrators: a subscription sees every event type


class WebhookController(Controller):
    """The tenant's webhook subscriptions."""

    path = f"{TENANT_PATH}/webhooks"
    tags = ["webhooks"]
    dependencies = TENANT_SCOPED

    @post("/", operation_id="createWebhook", sync_to_thread=True, responses=WRITE_ERRORS,
          **scoped(SCOPE))  # fmt: skip
    def create_webhook(
        self,
        webhooks: UseCase[Webhooks],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[WebhookCreate],
    ) -> CreatedSubscription:
        """Subscribe a URL to event types; the answer shows the signing secret, once."""
        return webhooks.create_subscription(
            command_context(request, member), data.url, data.event_types, data.secret
        )

    @get("/", operation_id="listWebhooks", sync_to_thread=True, responses=READ_ERRORS,
         **scoped(SCOPE))  # fmt: skip
    def list_webhooks(
        self,
        webhooks: UseCase[Webhooks],
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[SubscriptionView]:
        """Subscriptions oldest first (never their secrets)."""
        page = webhooks.list_subscriptions(member.tenant_id, page_request(cursor, limit))
        return to_response(page, limit)

    @get("/{webhook_id:uuid}", operation_id="getWebhook", sync_to_thread=True,
         responses=READ_ERRORS, **scoped(SCOPE))  # fmt: skip
    def get_webhook(
        self,
        webhooks: UseCase[Webhooks],
        member: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> SubscriptionView:
        """One subscription."""
        return webhooks.get_subscription(member.tenant_id, webhook_id)

    @patch("/{webhook_id:uuid}", operation_id="updateWebhook", sync_to_thread=True,
           responses=WRITE_ERRORS, **scoped(SCOPE))  # fmt: skip
    def update_webhook(
        self,
        webhooks: UseCase[Webhooks],
        request: Request,
        member: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
        data: JSONBody[WebhookPatch],
    ) -> SubscriptionView:
        """Change the URL, event types, secret or whether it is active."""
        changes = {
            name: getattr(data, name)
            for name in ("url", "event_types", "secret", "active")
            if getattr(data, name) is not msgspec.UNSET
        }
        return webhooks.update_subscription(command_context(request, member), webhook_id, **changes)

    @delete("/{webhook_id:uuid}", operation_id="deleteWebhook", sync_to_thread=True,
            responses=WRITE_ERRORS, **scoped(SCOPE))  # fmt: skip
    def delete_webhook(
        self,
        webhooks: UseCase[Webhooks],
        request: Request,
        member: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> None:
        """Remove the subscription and its delivery log."""
        webhooks.delete_subscription(command_context(request, member), webhook_id)

    @get("/{webhook_id:uuid}/deliveries", operation_id="listWebhookDeliveries",
         sync_to_thread=True, responses=READ_ERRORS, **scoped(SCOPE))  # fmt: skip
    def list_deliveries(
        self,
        webhooks: UseCase[Webhooks],
        member: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[WebhookDeliveryView]:
        """The subscription's deliveries, newest first."""
        page = webhooks.list_deliveries(member.tenant_id, webhook_id, page_request(cursor, limit))
        return to_response(page, limit)

    @post("/{webhook_id:uuid}/test", operation_id="testWebhook", sync_to_thread=True,
          status_code=HTTP_202_ACCEPTED, responses=WRITE_ERRORS, **scoped(SCOPE))  # fmt: skip
    def test_webhook(
        self,
        webhooks: UseCase[Webhooks],
        request: Request,
        member: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
    ) -> WebhookDeliveryView:
        """Queue a signed ``Webhook.Ping``; follow it in the delivery log."""
        return webhooks.send_test(command_context(request, member), webhook_id)

    @post("/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
          operation_id="redeliverWebhook", sync_to_thread=True, status_code=HTTP_202_ACCEPTED,
          responses=WRITE_ERRORS, **scoped(SCOPE))  # fmt: skip
    def redeliver(
        self,
        webhooks: UseCase[Webhooks],
        request: Request,
        member: NamedDependency[Principal],
        webhook_id: FromPath[UUID],
        delivery_id: FromPath[UUID],
    ) -> WebhookDeliveryView:
        """Send a delivered or dead delivery's event again (409 while it is on its way)."""
        return webhooks.redeliver(command_context(request, member), webhook_id, delivery_id)


class ProviderCallbackController(Controller):
    """What providers report after taking a message; authenticated by their signature."""

    path = "/api/v1/callbacks"
    tags = ["callbacks"]

    @post("/twilio/status", operation_id="twilioStatusCallback", sync_to_thread=True,
          status_code=HTTP_200_OK, responses=problems(400, 403, 409, 422))  # fmt: skip
    def twilio_status(
        self,
        delivery_reports: UseCase[DeliveryReports],
        request: Request,
        data: Annotated[dict[str, str], BodyParam(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> None:
        """Twilio's status callback (``X-Twilio-Signature`` checked against the configured
        public URL; 403 when it does not match): moves the message to delivered or failed."""
        query = request.scope.get("query_string", b"").decode("latin-1")
        delivery_reports.report_twilio_status(
            query, data, request.headers.get("x-twilio-signature")
        )
