"""The customer's side of appointments, with no staff token: a site's booking page and "my
appointment".

A customer picks a slot from the availability, *holds* it for the service's ``hold_minutes``
(a capability token names the hold), then confirms with a name and a phone or email: the hold
becomes the booking in one save, and an appointment pass (the link ``/a/{token}``) is all they
hold afterwards. Through it they see their appointment (no personal data), move it, cancel it,
and check in from their phone during the check-in window. A token that is malformed, forged,
expired or names nothing reads like a missing appointment or hold (404), never saying which.

Every command runs through the staff-side contexts with the actor ``customer``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from application.app import SmartQueue
from application.appointment_views import APPOINTMENT_LINK, AppointmentView
from application.appointments import Appointments
from application.availability import Availability, AvailabilityList
from application.check_in import CheckIns
from application.context import CommandContext
from application.customers import Customers
from application.paging import PageRequest
from application.ports import TicketPass, TicketPasses
from application.public_booking_views import (
    BookingContact,
    PublicAppointment,
    PublicBooked,
    PublicBookingPage,
    PublicBookingService,
    PublicBookingSite,
    PublicCheckedIn,
    PublicHold,
    PublicTicketLink,
)
from application.public_views import TICKET_LINK, end_of_local_day
from application.queues import Queues
from domain.appointments import LIVE
from domain.booking import AppointmentNotFound, HoldExpired, HoldNotFound
from domain.contact import check_customer_name, normalise_email, normalise_phone
from domain.customers import LANGUAGES
from domain.errors import InvalidInput, ResourceNotFound
from domain.schedule import Schedule
from domain.tenancy import Service, Site, Tenant
from domain.tickets import Ticket

PUBLIC_ROLE = "customer"
PUBLIC_CHANNEL = "web"
MAX_AVAILABILITY_DAYS = 31
"""The most local days one public availability query covers."""
HOLD_PASS_GRACE = timedelta(hours=1)
"""How long a hold token outlives its hold, so a late confirmation reads ``hold_expired``
rather than a missing hold."""
PASS_AFTER_END = timedelta(days=7)
"""How long an appointment's link works after the appointment (or the latest slot it may be
moved to) ends."""
PAGE_SIZE = 200
CHECK_IN_PAYLOAD_PREFIX = "SQ1:"
"""What a kiosk recognises a scanned booking code by: "SQ" for SmartQueue, "1" for this form."""


def check_in_payload(code: str) -> str:
    """The text of an appointment's QR code, ``SQ1:DEP-K7QMX``: the booking code and nothing
    personal. The prefix lets a kiosk listening at every screen tell its own codes from any
    other a scanner reads (and a later form, ``SQ2:``, from this one); all of it stays in the
    QR alphanumeric set (capitals, digits, ``:`` and ``-``), so the symbol stays small."""
    return f"{CHECK_IN_PAYLOAD_PREFIX}{code}"


class BookingPasses:
    """The capability tokens of the booking pages, each family under its own key: holds,
    appointments ("my appointment", ``/a/{token}``) and tickets ("my ticket", ``/t/{token}``).

    A hold token is two passes joined by a dot, naming the hold's schedule and the hold: each
    is signed, and a schedule paired with a hold of another schedule finds no such hold."""

    def __init__(self, holds: TicketPasses, appointments: TicketPasses, tickets: TicketPasses):
        self.holds = holds
        self.appointments = appointments
        self.tickets = tickets

    def hold_token(
        self, tenant_id: UUID, schedule_id: UUID, hold_id: UUID, expires_at: datetime
    ) -> str:
        """A token naming one hold of one schedule, until ``expires_at``."""
        return ".".join(
            self.holds.issue(TicketPass(tenant_id, part, expires_at))
            for part in (schedule_id, hold_id)
        )

    def verify_hold(self, token: str) -> tuple[UUID, UUID, UUID] | None:
        """The tenant, schedule and hold a hold token names (``None``: malformed, forged,
        expired)."""
        parts = token.split(".")
        if len(parts) != 2:
            return None
        schedule, hold = (self.holds.verify(part) for part in parts)
        if schedule is None or hold is None or schedule.tenant_id != hold.tenant_id:
            return None
        return schedule.tenant_id, schedule.ticket_id, hold.ticket_id

    def appointment_token(self, tenant_id: UUID, appointment_id: UUID, expires_at: datetime) -> str:
        """The token of an appointment's "my appointment" page."""
        return self.appointments.issue(TicketPass(tenant_id, appointment_id, expires_at))

    def verify_appointment(self, token: str) -> TicketPass | None:
        """The appointment pass a token proves (its ``ticket_id`` is the appointment's id)."""
        return self.appointments.verify(token)

    def ticket_token(self, tenant_id: UUID, ticket_id: UUID, expires_at: datetime) -> str:
        """The token of a ticket's "my ticket" page."""
        return self.tickets.issue(TicketPass(tenant_id, ticket_id, expires_at))


class PublicBooking:
    """Booking pages and "my appointment", over the appointments, availability and check-in
    contexts."""

    def __init__(
        self,
        store: SmartQueue,
        appointments: Appointments,
        availability: Availability,
        check_ins: CheckIns,
        customers: Customers,
        queues: Queues,
        passes: BookingPasses,
    ) -> None:
        self.store = store
        self.appointments = appointments
        self.availability = availability
        self.check_ins = check_ins
        self.customers = customers
        self.queues = queues
        self.passes = passes

    # -- the booking page -------------------------------------------------------------------------

    def get_booking_page(self, slug: str, site_id: UUID) -> PublicBookingPage:
        """The site, the services one of its queues serves (bookable there), the languages."""
        tenant_id, site = self._site(slug, site_id)
        services = [
            _public_service(service) for service in self._bookable(tenant_id, site.id).values()
        ]
        return PublicBookingPage(
            site=PublicBookingSite(id=site.id, name=site.name, timezone=site.timezone),
            languages=list(LANGUAGES),
            services=sorted(services, key=lambda service: (service.name, str(service.id))),
        )

    def get_availability(
        self, slug: str, site_id: UUID, service_id: UUID, first: date, last: date
    ) -> AvailabilityList:
        """The bookable slots of the service over ``first``..``last`` (at most
        :data:`MAX_AVAILABILITY_DAYS` local days) with their free places."""
        if last < first:
            raise InvalidInput("to must not be before from")
        if (last - first).days + 1 > MAX_AVAILABILITY_DAYS:
            raise InvalidInput(f"from and to may span at most {MAX_AVAILABILITY_DAYS} days")
        tenant_id, site = self._site(slug, site_id)
        self._service(tenant_id, site.id, service_id)
        return self.availability.get_availability(tenant_id, site.id, service_id, first, last)

    def hold(
        self,
        slug: str,
        site_id: UUID,
        service_id: UUID,
        start: datetime,
        client_ip: str | None = None,
    ) -> PublicHold:
        """Keep a place of the slot for the service's ``hold_minutes``; refused like a booking
        (``slot_full``, ``too_late_to_book``, ``beyond_horizon``, ``outside_opening_hours``)."""
        tenant_id, site = self._site(slug, site_id)
        self._service(tenant_id, site.id, service_id)
        held = self.appointments.hold_slot(
            self._context(tenant_id, client_ip), site.id, service_id, start
        )
        token = self.passes.hold_token(
            tenant_id, held.schedule_id, held.id, held.expires_at + HOLD_PASS_GRACE
        )
        return PublicHold(
            hold_token=token, start=held.start, end=held.end, expires_at=held.expires_at
        )

    def release_hold(self, token: str, client_ip: str | None = None) -> None:
        """Free a live hold at once (``hold_not_found`` once expired, booked or released)."""
        tenant_id, schedule_id, hold_id = self._hold(token)
        self.appointments.release_hold(self._context(tenant_id, client_ip), schedule_id, hold_id)

    @staticmethod
    def check_contact(
        name: str | None, phone: str | None, email: str | None, language: str | None
    ) -> BookingContact:
        """Validate what a booker gave (``InvalidInput`` names the problem): a name, and a
        phone or an email to reach them."""
        language = language or "en"
        if language not in LANGUAGES:
            raise InvalidInput(f"unknown language {language!r}; expected one of fr, en")
        phone = normalise_phone(phone) if phone is not None and phone.strip() else None
        email = normalise_email(email) if email is not None and email.strip() else None
        if phone is None and email is None:
            raise InvalidInput("phone or email: give at least one, to be told about the visit")
        return BookingContact(
            name=check_customer_name(name or ""), phone=phone, email=email, language=language
        )

    def book(
        self,
        slug: str,
        site_id: UUID,
        hold_token: str,
        contact: BookingContact,
        client_ip: str | None = None,
    ) -> PublicBooked:
        """Book the place the hold keeps for a new customer profile with the contact given;
        ``hold_expired`` (409) once the hold ran out or was freed, 404 for a token of another
        site or none."""
        tenant_id, site = self._site(slug, site_id)
        pass_tenant, schedule_id, hold_id = self._hold(hold_token)
        schedule = self.store.find(Schedule, schedule_id)
        if pass_tenant != tenant_id or schedule is None or schedule.site_id != site.id:
            raise HoldNotFound("no such hold at this site")
        if schedule.live_hold(hold_id, self.store.clock()) is None:  # before a profile is made
            raise HoldExpired("the place was held for a few minutes only; choose a slot again")
        context = self._context(tenant_id, client_ip)
        customer = self.customers.register_customer(
            context,
            name=contact.name,
            phone=contact.phone,
            email=contact.email,
            channels=(["sms"] if contact.phone else []) + (["email"] if contact.email else []),
            language=contact.language,
        )
        booked = self.appointments.book_hold(context, schedule_id, hold_id, customer.id)
        token = self.passes.appointment_token(
            tenant_id, booked.id, self._pass_expiry(tenant_id, booked)
        )
        return PublicBooked(
            appointment=self._public(tenant_id, booked),
            token=token,
            url=APPOINTMENT_LINK.format(token=token),
        )

    # -- "my appointment" -------------------------------------------------------------------------

    def get_appointment(self, token: str) -> PublicAppointment:
        """The appointment ``token`` proves."""
        tenant_id, appointment_id = self._appointment(token)
        return self._public(tenant_id, self.appointments.get_appointment(tenant_id, appointment_id))

    def get_check_in_payload(self, token: str) -> str:
        """The text of the QR code a kiosk checks the appointment in with (its current booking
        code: a move to another day changes it)."""
        tenant_id, appointment_id = self._appointment(token)
        return check_in_payload(self.appointments.get_appointment(tenant_id, appointment_id).code)

    def reschedule(
        self, token: str, start: datetime, client_ip: str | None = None
    ) -> PublicAppointment:
        """Move the appointment to another slot (refused past the cut-off or when full); the
        link keeps working (it names the appointment, not the slot)."""
        tenant_id, appointment_id = self._appointment(token)
        moved = self.appointments.reschedule_appointment(
            self._context(tenant_id, client_ip), appointment_id, start
        )
        return self._public(tenant_id, moved)

    def cancel(self, token: str, client_ip: str | None = None) -> PublicAppointment:
        """Cancel the appointment (refused past the cut-off), freeing its place."""
        tenant_id, appointment_id = self._appointment(token)
        cancelled = self.appointments.cancel_appointment(
            self._context(tenant_id, client_ip), appointment_id
        )
        return self._public(tenant_id, cancelled)

    def check_in(self, token: str, client_ip: str | None = None) -> PublicCheckedIn:
        """Take the appointment's ticket from the customer's phone: ``too_early`` (with
        ``opens_at``) before the window, a walk-in ticket after it."""
        tenant_id, appointment_id = self._appointment(token)
        checked = self.check_ins.check_in_appointment(
            self._context(tenant_id, client_ip), appointment_id, channel=PUBLIC_CHANNEL
        )
        public = self._public(tenant_id, checked.appointment)
        if public.ticket is None:  # pragma: no cover - a check-in always records its ticket
            raise RuntimeError("a checked-in appointment has no ticket")
        return PublicCheckedIn(appointment=public, ticket=public.ticket)

    # -- helpers ----------------------------------------------------------------------------------

    def _public(self, tenant_id: UUID, appointment: AppointmentView) -> PublicAppointment:
        site = self.store.load(Site, appointment.site_id, tenant_id, ResourceNotFound)
        service = self.store.load(Service, appointment.service_id, tenant_id, ResourceNotFound)
        rules = service.booking_rules
        now = self.store.clock()
        start = appointment.start.astimezone(UTC)
        opens_at = start - timedelta(minutes=rules.early_minutes)
        closes_at = start + timedelta(minutes=rules.late_minutes)
        cancel_until = start - timedelta(minutes=rules.cancel_cutoff_minutes)
        live = appointment.status in LIVE
        tz = ZoneInfo(site.timezone)
        tenant = self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        return PublicAppointment(
            slug=tenant.slug,
            site_id=site.id,
            service_id=service.id,
            site_name=site.name,
            service_name=service.name,
            timezone=site.timezone,
            start=appointment.start,
            end=appointment.end,
            code=appointment.code,
            status=appointment.status,
            check_in_opens_at=opens_at.astimezone(tz),
            check_in_closes_at=closes_at.astimezone(tz),
            can_check_in=live and opens_at <= now <= closes_at,
            can_cancel=live and now <= cancel_until,
            cancel_until=cancel_until.astimezone(tz),
            ticket=self._ticket_link(tenant_id, appointment.ticket_id, site.timezone),
        )

    def _ticket_link(
        self, tenant_id: UUID, ticket_id: UUID | None, timezone: str
    ) -> PublicTicketLink | None:
        ticket = None if ticket_id is None else self.store.find(Ticket, ticket_id)
        if ticket is None:
            return None
        expires_at = end_of_local_day(ticket.issued_at, timezone)
        token = self.passes.ticket_token(tenant_id, ticket.id, expires_at)
        return PublicTicketLink(number=ticket.number, url=TICKET_LINK.format(token=token))

    def _pass_expiry(self, tenant_id: UUID, appointment: AppointmentView) -> datetime:
        """After the appointment ends and after the latest slot it may be moved to now."""
        service = self.store.load(Service, appointment.service_id, tenant_id, ResourceNotFound)
        latest = self.store.clock() + timedelta(days=service.booking_rules.horizon_days + 1)
        return max(appointment.end, latest) + PASS_AFTER_END

    def _site(self, slug: str, site_id: UUID) -> tuple[UUID, Site]:
        tenant_id = Tenant.create_id(slug)
        try:
            return tenant_id, self.store.load(Site, site_id, tenant_id, ResourceNotFound)
        except ResourceNotFound:
            raise ResourceNotFound(f"no site {site_id} at {slug!r}") from None

    def _bookable(self, tenant_id: UUID, site_id: UUID) -> dict[UUID, Service]:
        """The services a queue of the site serves (open now or not: bookings are for later)."""
        found: dict[UUID, Service] = {}
        cursor = None
        while True:
            page = self.queues.list_queues(
                tenant_id, PageRequest(limit=PAGE_SIZE, cursor=cursor), site_id=site_id
            )
            for queue in page.items:
                for service_id in queue.service_ids:
                    if service_id not in found:
                        service = self.store.find(Service, service_id)
                        if service is not None and service.tenant_id == tenant_id:
                            found[service_id] = service
            cursor = page.next_cursor
            if cursor is None:
                return found

    def _service(self, tenant_id: UUID, site_id: UUID, service_id: UUID) -> Service:
        service = self._bookable(tenant_id, site_id).get(service_id)
        if service is None:
            raise ResourceNotFound(f"service {service_id} cannot be booked at this site")
        return service

    def _hold(self, token: str) -> tuple[UUID, UUID, UUID]:
        found = self.passes.verify_hold(token)
        if found is None:
            raise HoldNotFound("no such hold (it may have expired)")
        return found

    def _appointment(self, token: str) -> tuple[UUID, UUID]:
        found = self.passes.verify_appointment(token)
        if found is None:
            raise AppointmentNotFound("no such appointment")
        return found.tenant_id, found.ticket_id

    @staticmethod
    def _context(tenant_id: UUID, client_ip: str | None) -> CommandContext:
        return CommandContext(tenant_id=tenant_id, actor_role=PUBLIC_ROLE, client_ip=client_ip)


def _public_service(service: Service) -> PublicBookingService:
    rules = service.booking_rules
    return PublicBookingService(
        id=service.id,
        name=service.name,
        code=service.code,
        slot_minutes=rules.slot_minutes,
        lead_minutes=rules.lead_minutes,
        horizon_days=rules.horizon_days,
        hold_minutes=rules.hold_minutes,
    )
