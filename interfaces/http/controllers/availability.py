"""Availability: the free places of each slot of a service at a site, over a range of local days
(a read model, trailing bookings by the projection's lag unless ``min_position`` asks to read
one's writes)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from application.availability import MAX_DAYS, Availability, AvailabilityList
from application.consistency import Consistency
from application.identity import Principal
from domain.errors import InvalidInput
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.security import scoped

READ_MODELS = ("availability",)
ERRORS = problems(400, 401, 403, 404, 422, 503)

# Needed, but declared optional so that an unknown tenant (404) or a missing scope (403) is
# answered before the parameters are read; left out, they are a 422.
ServiceParameter = Annotated[
    UUID | None, QueryParameter(name="service_id", description="The service (needed)")
]
FromParameter = Annotated[
    str | None,
    QueryParameter(
        name="from",
        description="The first local day of the site, YYYY-MM-DD (needed)",
        schema_extra={"format": "date"},
    ),
]
ToParameter = Annotated[
    str | None,
    QueryParameter(
        name="to",
        description=f"The last local day, included (needed; at most {MAX_DAYS} days in all)",
        schema_extra={"format": "date"},
    ),
]


def day_parameter(name: str, text: str | None) -> date:
    if text is None:
        raise InvalidInput(f"name the {name} day, like {name}=2026-12-07")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-12-07; got {text!r}") from None


class AvailabilityController(Controller):
    """Free places per slot, for booking."""

    path = f"{TENANT_PATH}/sites"
    tags = ["appointments"]
    dependencies = TENANT_SCOPED

    @get(
        "/{site_id:uuid}/availability",
        operation_id="getAvailability",
        sync_to_thread=True,
        responses=ERRORS,
        **scoped("appointments:read"),
    )
    def get_availability(
        self,
        availability: UseCase[Availability],
        consistency: UseCase[Consistency],
        request: Request,
        member: NamedDependency[Principal],
        site_id: FromPath[UUID],
        service_id: ServiceParameter = None,
        first: FromParameter = None,
        last: ToParameter = None,
        min_position: MinPosition = None,
    ) -> AvailabilityList:
        """The slots of the site's local days ``from``..``to`` (both included, at most 62) that
        may still be booked (past the lead time, within the horizon), each with its free places
        (capacity minus taken, never below zero), in time order. A closed date has no slot."""
        if service_id is None:
            raise InvalidInput("name the service, like service_id=…")
        days = (day_parameter("from", first), day_parameter("to", last))
        await_read_models(consistency, READ_MODELS, min_position)
        return availability.get_availability(member.tenant_id, site_id, service_id, *days)
