"""Appointments: book a slot for a customer, move it, cancel it, list a site's day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIType
from litestar.params import FromPath, JSONBody, QueryParameter

from application.appointment_views import STATUS_FILTERS, AppointmentView
from application.appointments import Appointments
from application.check_in import MAX_CODE_LENGTH, CheckIns, CheckInView
from application.consistency import Consistency
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.ticket_queries import TicketQueries
from domain.access import DEVICE_ROLE
from domain.errors import InvalidInput
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.idempotency import idempotent
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.rate_limits import limit_kiosk_check_in
from interfaces.http.schemas import Body
from interfaces.http.security import command_context, scoped

WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)
READ_ERRORS = problems(400, 401, 403, 404, 422)
LIST_ERRORS = problems(400, 401, 403, 404, 422, 503)

# Both are needed, but declared optional so that an unknown tenant (404) or a missing scope (403)
# is answered before the parameters are read; left out, they are a 422.
SiteParameter = Annotated[
    UUID | None, QueryParameter(name="site_id", description="The site (needed)")
]
DayParameter = Annotated[
    str | None,
    QueryParameter(
        name="day",
        description="The site's local day, YYYY-MM-DD (needed)",
        schema_extra={"format": "date"},
    ),
]
ServiceParameter = Annotated[
    UUID | None, QueryParameter(name="service_id", description="Only this service's")
]
StatusParameter = Annotated[
    str,
    QueryParameter(
        name="status",
        description=(
            "live (holding a place: booked or rescheduled, the default), all, or one status: "
            "booked, rescheduled, cancelled, checked_in, no_show, served"
        ),
        schema_extra={"enum": list(STATUS_FILTERS), "type": OpenAPIType.STRING},
    ),
]
CustomerParameter = Annotated[
    UUID | None, QueryParameter(name="customer_id", description="Only this customer's")
]
READ_MODELS = ("appointments",)


class AppointmentBook(Body):
    """Book a slot: ``start`` is the slot's start with its offset (RFC 3339)."""

    site_id: UUID
    service_id: UUID
    start: datetime
    customer_id: UUID | None = None


class AppointmentReschedule(Body):
    """Move an appointment to the slot starting at ``start`` (any day)."""

    start: datetime


class AppointmentCodeCheckIn(Body):
    """Check in today's appointment of booking ``code`` at a site: a kiosk's own site, or
    ``site_id`` for staff."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CODE_LENGTH)]
    site_id: UUID | None = None


def _day(text: str | None) -> date:
    if text is None:
        raise InvalidInput("name the day to list, like day=2026-12-07")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"day must be a date like 2026-12-07; got {text!r}") from None


class AppointmentController(Controller):
    """The tenant's appointments, as staff book and manage them."""

    path = f"{TENANT_PATH}/appointments"
    tags = ["appointments"]
    dependencies = TENANT_SCOPED

    @post(
        "/",
        operation_id="bookAppointment",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **idempotent(scoped("appointments:manage")),
    )
    def book(
        self,
        appointments: UseCase[Appointments],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[AppointmentBook],
    ) -> AppointmentView:
        """Book a place in a slot of a service at a site (201). Refusals are 409 with the rule
        broken as ``code``: ``slot_full``, ``too_late_to_book``, ``beyond_horizon``,
        ``outside_opening_hours``, ``customer_limit``; a start that is not a slot start is 422."""
        return appointments.book_appointment(
            command_context(request, member),
            data.site_id,
            data.service_id,
            data.start,
            data.customer_id,
        )

    @get(
        "/",
        operation_id="listAppointments",
        sync_to_thread=True,
        responses=LIST_ERRORS,
        **scoped("appointments:read"),
    )
    def list_appointments(
        self,
        appointments: UseCase[Appointments],
        consistency: UseCase[Consistency],
        request: Request,
        member: NamedDependency[Principal],
        site_id: SiteParameter = None,
        day: DayParameter = None,
        service_id: ServiceParameter = None,
        status: StatusParameter = "live",
        customer_id: CustomerParameter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Paginated[AppointmentView]:
        """A page of a site's appointments on one local day, by start time then id, from the
        appointments read model: it trails commands by the projection's lag unless
        ``min_position`` asks to read one's own write. ``site_id`` and ``day`` are needed (422
        without)."""
        if site_id is None:
            raise InvalidInput("name the site whose day to list, with site_id")
        listed_day = _day(day)
        await_read_models(consistency, READ_MODELS, min_position)
        page = appointments.list_appointments(
            member.tenant_id,
            site_id,
            listed_day,
            service_id,
            status,
            page_request(cursor, limit),
            customer_id,
        )
        return to_response(page, limit)

    @get(
        "/{appointment_id:uuid}",
        operation_id="getAppointment",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("appointments:read"),
    )
    def get_appointment(
        self,
        appointments: UseCase[Appointments],
        request: Request,
        member: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
    ) -> AppointmentView:
        """One appointment."""
        return appointments.get_appointment(member.tenant_id, appointment_id)

    @post(
        "/{appointment_id:uuid}/reschedule",
        operation_id="rescheduleAppointment",
        status_code=200,
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **idempotent(scoped("appointments:manage")),
    )
    def reschedule(
        self,
        appointments: UseCase[Appointments],
        request: Request,
        member: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
        data: JSONBody[AppointmentReschedule],
    ) -> AppointmentView:
        """Move an appointment to another slot, of the same day or another, in one step: it
        never holds both places, nor neither. Refused like a booking, and with 409
        ``too_late_to_cancel`` past the service's cancellation cut-off."""
        return appointments.reschedule_appointment(
            command_context(request, member), appointment_id, data.start
        )

    @post(
        "/{appointment_id:uuid}/cancel",
        operation_id="cancelAppointment",
        status_code=200,
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **idempotent(scoped("appointments:manage")),
    )
    def cancel(
        self,
        appointments: UseCase[Appointments],
        request: Request,
        member: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
    ) -> AppointmentView:
        """Cancel an appointment and free its place; 409 ``too_late_to_cancel`` past the
        service's cut-off, ``appointment_closed`` if already cancelled."""
        return appointments.cancel_appointment(command_context(request, member), appointment_id)

    @post(
        "/{appointment_id:uuid}/check-in",
        operation_id="checkInAppointment",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **idempotent(scoped("appointments:manage")),
    )
    def check_in(
        self,
        check_ins: UseCase[CheckIns],
        ticket_queries: UseCase[TicketQueries],
        request: Request,
        member: NamedDependency[Principal],
        appointment_id: FromPath[UUID],
    ) -> CheckInView:
        """Check an appointment in at the counter: its ticket (201), placed by its booked time
        within the service's window (``placement`` ``booked_time``; ``priority_boost`` when
        the queue's ``appointment_placement`` is ``priority``), or a plain walk-in ticket
        later (``walk_in``, the appointment then counts as missed). 409 ``too_early`` (with
        ``opens_at``) before the window, ``already_checked_in`` the second time,
        ``appointment_closed`` once cancelled, ``no_queue_for_service``."""
        view = check_ins.check_in_appointment(command_context(request, member), appointment_id)
        view.ticket = ticket_queries.with_eta(member.tenant_id, view.ticket)
        return view

    @post(
        "/check-in",
        operation_id="checkInAppointmentByCode",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 409, 422, 429, 503),
        **idempotent(scoped("tickets:issue")),
    )
    def check_in_by_code(
        self,
        check_ins: UseCase[CheckIns],
        ticket_queries: UseCase[TicketQueries],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[AppointmentCodeCheckIn],
    ) -> CheckInView:
        """Check in today's appointment of a booking code, as a kiosk does at its own site
        (staff name the ``site_id``): answered like the check-in by id; an unknown code is 404
        ``appointment_not_found``, and a kiosk's attempts count against its rate limit (429)."""
        site_id = member.site_id or data.site_id
        if site_id is None:
            raise InvalidInput("name the site_id where the appointment is checked in")
        channel = "counter"
        if member.role == DEVICE_ROLE:
            limit_kiosk_check_in(request, f"device:{member.user_id}")
            channel = "kiosk"
        view = check_ins.check_in_by_code(
            command_context(request, member), site_id, data.code, channel
        )
        view.ticket = ticket_queries.with_eta(member.tenant_id, view.ticket)
        return view
