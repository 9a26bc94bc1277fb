"""The event contract's machine-readable form, served beside the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import get

from interfaces.http.controllers.common import UseCase


@get(
    "/schema/asyncapi.json",
    operation_id="asyncapi",
    security=[],
    include_in_schema=False,
    sync_to_thread=False,
    media_type="application/json",
)
def asyncapi(event_contract: UseCase[dict[str, Any]]) -> dict[str, Any]:
    """The AsyncAPI 3 document of the events published to Kafka (see docs/events.md); the
    composition root derives it from the event contract."""
    return event_contract
