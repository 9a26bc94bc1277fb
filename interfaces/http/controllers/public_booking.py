"""The public booking API: a site's booking page data, free slots, holding a slot, confirming
it, and "my appointment" by capability token (no staff token; the actor is ``customer``).

Every request counts against the client's address; holds and bookings also against the join
budgets (per address, and per phone for a booking). A token that is malformed, forged, expired
or names nothing answers ``404``, never saying which.
"""

from __future__ import annotations

import hashlib
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from application.availability import AvailabilityList
from application.public_booking import MAX_AVAILABILITY_DAYS, PublicBooking
from application.public_booking_views import (
    PublicAppointment,
    PublicBooked,
    PublicBookingPage,
    PublicCheckedIn,
    PublicHold,
)
from domain.errors import InvalidInput
from interfaces.http.controllers.availability import (
    FromParameter,
    ServiceParameter,
    day_parameter,
)
from interfaces.http.controllers.common import problems
from interfaces.http.join_qr import qr_svg
from interfaces.http.public_schemas import (
    PublicBookingRequest,
    PublicHoldRequest,
    PublicRescheduleRequest,
)
from interfaces.http.rate_limits import client_address, limit_public_booking, limit_public_request

ToParameter = Annotated[
    str | None,
    QueryParameter(
        name="to",
        description=(
            f"The last local day, included (needed; at most {MAX_AVAILABILITY_DAYS} days in all)"
        ),
        schema_extra={"format": "date"},
    ),
]


def provide_public_booking(request: Request) -> PublicBooking:
    """The public booking context, once the request was counted against its client's address."""
    limit_public_request(request)
    booking = request.app.state.use_cases["public_booking"]
    if booking is None:
        raise RuntimeError("the process was built without the public booking context")
    return booking


PUBLIC_BOOKING = {"booking": Provide(provide_public_booking, sync_to_thread=False)}
APPOINTMENT_ERRORS = problems(400, 404, 409, 429, 503)


class PublicBookingController(Controller):
    """A site's booking page: its bookable services, free slots, holds and confirmations."""

    path = "/api/v1/public/{slug:str}/sites/{site_id:uuid}"
    tags = ["public"]
    dependencies = PUBLIC_BOOKING

    @get(
        "/booking",
        operation_id="getPublicBookingPage",
        sync_to_thread=True,
        responses=problems(400, 404, 429, 503),
    )
    def get_booking_page(
        self, booking: NamedDependency[PublicBooking], slug: FromPath[str], site_id: FromPath[UUID]
    ) -> PublicBookingPage:
        """The site (name, time zone), the services that can be booked there with the rules a
        page needs (slot length, lead time, horizon, hold length), and the languages."""
        return booking.get_booking_page(slug, site_id)

    @get(
        "/availability",
        operation_id="getPublicAvailability",
        sync_to_thread=True,
        responses=problems(400, 404, 422, 429, 503),
    )
    def get_availability(
        self,
        booking: NamedDependency[PublicBooking],
        slug: FromPath[str],
        site_id: FromPath[UUID],
        service_id: ServiceParameter = None,
        first: FromParameter = None,
        last: ToParameter = None,
    ) -> AvailabilityList:
        """The slots of the site's local days ``from``..``to`` (both included, at most 31)
        still open to booking, each with its free places (held ones count as taken)."""
        if service_id is None:
            raise InvalidInput("name the service, like service_id=…")
        days = (day_parameter("from", first), day_parameter("to", last))
        return booking.get_availability(slug, site_id, service_id, *days)

    @post(
        "/holds",
        operation_id="holdPublicSlot",
        status_code=201,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 422, 429, 503),
    )
    def hold(
        self,
        request: Request,
        booking: NamedDependency[PublicBooking],
        slug: FromPath[str],
        site_id: FromPath[UUID],
        data: JSONBody[PublicHoldRequest],
    ) -> PublicHold:
        """Keep a place of the slot starting at ``start`` for the service's ``hold_minutes``
        while the customer confirms: the ``hold_token`` books or frees it. 409 ``slot_full``,
        ``too_late_to_book``, ``beyond_horizon``, ``outside_opening_hours`` as for a booking."""
        limit_public_booking(request, None)
        return booking.hold(
            slug, site_id, data.service_id, data.start, client_ip=client_address(request)
        )

    @post(
        "/appointments",
        operation_id="bookPublicAppointment",
        status_code=201,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 422, 429, 503),
    )
    def book(
        self,
        request: Request,
        booking: NamedDependency[PublicBooking],
        slug: FromPath[str],
        site_id: FromPath[UUID],
        data: JSONBody[PublicBookingRequest],
    ) -> PublicBooked:
        """Book the held place: a customer profile is made with the name and the phone or
        email given (one is needed, 422 otherwise), and the answer carries the token of the
        "my appointment" page (``url``). 409 ``hold_expired`` once the hold ran out or was
        freed; 404 for a hold token that is not one of this site's."""
        contact = booking.check_contact(data.name, data.phone, data.email, data.language)
        limit_public_booking(request, contact.phone)
        return booking.book(
            slug, site_id, data.hold_token, contact, client_ip=client_address(request)
        )


class PublicHoldController(Controller):
    """A hold, reached by its token only."""

    path = "/api/v1/public/holds/{hold_token:str}"
    tags = ["public"]
    dependencies = PUBLIC_BOOKING

    @delete(
        "/",
        operation_id="releasePublicHold",
        status_code=204,
        sync_to_thread=True,
        responses=problems(400, 404, 429, 503),
    )
    def release(
        self, request: Request, booking: NamedDependency[PublicBooking], hold_token: FromPath[str]
    ) -> None:
        """Free the held place at once (404 once it expired, was booked or freed)."""
        booking.release_hold(hold_token, client_ip=client_address(request))


class PublicAppointmentController(Controller):
    """A customer's own appointment, reached by its capability token only."""

    path = "/api/v1/public/appointments/{token:str}"
    tags = ["public"]
    dependencies = PUBLIC_BOOKING

    @get(
        "/", operation_id="getPublicAppointment", sync_to_thread=True, responses=APPOINTMENT_ERRORS
    )
    def get_appointment(
        self, booking: NamedDependency[PublicBooking], token: FromPath[str]
    ) -> PublicAppointment:
        """Where and when, the booking code, the status, the check-in window and whether it
        is open now, until when it may be cancelled or moved, and its ticket once checked in.
        No personal data."""
        return booking.get_appointment(token)

    @get(
        "/qr.svg",
        operation_id="getPublicAppointmentQrCode",
        sync_to_thread=True,
        media_type="image/svg+xml",
        responses={
            304: ResponseSpec(None, description="Unchanged since the copy whose ETag was sent"),
            **problems(400, 404, 429, 503),
        },
    )
    def get_qr_code(
        self, request: Request, booking: NamedDependency[PublicBooking], token: FromPath[str]
    ) -> Response[bytes]:
        """An SVG QR code of ``SQ1:{booking code}`` for the kiosk's scanner: nothing personal.
        Kept by the browser only (``private``) and checked again on each use (``no-cache``,
        ``ETag``): a move to another day changes the code."""
        payload = booking.get_check_in_payload(token)
        etag = f'"{hashlib.sha256(payload.encode()).hexdigest()[:16]}"'
        headers = {"Cache-Control": "private, no-cache", "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers)
        return Response(qr_svg(payload), media_type="image/svg+xml", headers=headers)

    @post(
        "/reschedule",
        operation_id="reschedulePublicAppointment",
        status_code=200,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 422, 429, 503),
    )
    def reschedule(
        self,
        request: Request,
        booking: NamedDependency[PublicBooking],
        token: FromPath[str],
        data: JSONBody[PublicRescheduleRequest],
    ) -> PublicAppointment:
        """Move the appointment to the slot starting at ``start`` (409 ``slot_full``,
        ``too_late_to_cancel`` past the cut-off...); the link keeps working."""
        limit_public_booking(request, None)
        return booking.reschedule(token, data.start, client_ip=client_address(request))

    @post(
        "/cancel",
        operation_id="cancelPublicAppointment",
        status_code=200,
        sync_to_thread=True,
        responses=APPOINTMENT_ERRORS,
    )
    def cancel(
        self, request: Request, booking: NamedDependency[PublicBooking], token: FromPath[str]
    ) -> PublicAppointment:
        """Cancel the appointment (409 ``too_late_to_cancel`` past the cut-off)."""
        return booking.cancel(token, client_ip=client_address(request))

    @post(
        "/check-in",
        operation_id="checkInPublicAppointment",
        status_code=201,
        sync_to_thread=True,
        responses=APPOINTMENT_ERRORS,
    )
    def check_in(
        self, request: Request, booking: NamedDependency[PublicBooking], token: FromPath[str]
    ) -> PublicCheckedIn:
        """Take the appointment's ticket (its number and "my ticket" link) from the phone:
        409 ``too_early`` with ``opens_at`` before the check-in window, a walk-in ticket
        after it, 409 ``no_queue_for_service`` when no queue of the site is open for it."""
        return booking.check_in(token, client_ip=client_address(request))
