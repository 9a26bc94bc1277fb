"""Check-in: an appointment's customer arrives and takes a ticket in the queue serving its service.

Within the service's window (``early_minutes`` before the start to ``late_minutes`` after it) the
ticket joins the line placed by the booked time: ahead of every ticket issued after the start,
behind the ones issued before (an early arrival stands as if it came now). A queue whose
``appointment_placement`` is ``priority`` boosts it instead: the ticket is issued with the queue's
``appointment_priority`` and joins by the queue's policy (ahead of lower priorities, behind
equal ones that came earlier), recorded as ``priority_boost``. Later, it is a plain
walk-in ticket at the end of the line and the appointment counts as missed (``no_show``). The
appointment, the ticket, the queue and the day's ticket counter are saved in one transaction,
so two check-ins racing lose one save on the appointment's version: the retry finds it checked
in (``already_checked_in``) and only one ticket exists.

An appointment nobody checked in is marked no-show by the system once its window has closed
(``mark_no_show``, run by the delayed job ``infrastructure/jobs/appointment_no_show.py``).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import msgspec

from application.app import SmartQueue
from application.appointment_views import AppointmentView, appointment_view
from application.base import StaleRead, retry_on_conflict
from application.context import CommandContext
from application.ports import NoQueueLock, QueueLock
from application.tickets import local_day, numbered_ticket, ticket_view
from application.views import TicketView
from domain.appointments import Appointment
from domain.booking import (
    BOOKED_TIME,
    PRIORITY_BOOST,
    WALK_IN,
    AppointmentClosed,
    AppointmentNotFound,
    NoQueueForService,
    check_in_placement,
    no_show_at,
)
from domain.errors import InvalidInput, QueueNotFound, ResourceNotFound
from domain.policies import Placement
from domain.queues import Queue, QueueStatus
from domain.schedule import Schedule
from domain.tenancy import Service, Site, Tenant

MAX_CODE_LENGTH = 40


class CheckInView(msgspec.Struct, kw_only=True):
    """A checked-in appointment and the ticket it took; ``placement`` says why the ticket
    stands where it does (``booked_time``, ``priority_boost`` at a queue that boosts
    appointments, or ``walk_in`` when it came too late)."""

    appointment: AppointmentView
    placement: str
    ticket: TicketView


class CheckIns:
    """Checking appointments in at the kiosk or the counter, and their no-shows."""

    def __init__(self, store: SmartQueue, queue_lock: QueueLock | None = None) -> None:
        self.store = store
        self.queue_lock = queue_lock or NoQueueLock()
        """Serialises the writers of one queue (shared with ``Tickets`` and ``Staffing``)."""

    @retry_on_conflict
    def check_in_appointment(
        self, context: CommandContext, appointment_id: UUID, channel: str = "counter"
    ) -> CheckInView:
        """Issue the appointment's ticket: ``409 too_early`` before its window,
        ``already_checked_in`` the second time, ``appointment_closed`` once cancelled."""
        appointment = self.store.load(
            Appointment, appointment_id, context.tenant_id, AppointmentNotFound
        )
        service = self.store.load(
            Service, appointment.service_id, context.tenant_id, ResourceNotFound
        )
        now = self.store.clock()
        placement = check_in_placement(service.booking_rules, appointment.start, now)
        appointment.check_can_check_in(placement)  # before the queue and the site are looked at
        queue = self._queue_for(context.tenant_id, appointment.site_id, service.id)
        priority = 0
        if placement == BOOKED_TIME and queue.appointment_priority is not None:
            placement, priority = PRIORITY_BOOST, queue.appointment_priority
        if placement == WALK_IN:  # a walk-in is a plain ticket: the site must be open
            site = self.store.load(Site, appointment.site_id, context.tenant_id, ResourceNotFound)
            site.check_open(now)
        # The queue's writers take turns (call next, issue, check in): what they contend for is
        # read again under its lock, and only that.
        with self.queue_lock.holding([queue.id]):
            queue = self.store.load(Queue, queue.id, context.tenant_id, QueueNotFound)
            if queue.status != QueueStatus.OPEN or service.id not in queue.service_ids:
                raise StaleRead  # paused, closed or reconfigured meanwhile: decide again
            counter, ticket = numbered_ticket(
                self.store,
                queue,
                service,
                now,
                priority=priority,
                channel=channel,
                customer_id=appointment.customer_id,
                hours_override=False,
                appointment_id=appointment.id,
            )
            appointment.check_in(ticket.id, placement, now)
            target_wait = service.target_wait_minutes * 60
            if placement == BOOKED_TIME:
                # Placed as if issued at the booked time (or now, when it came early).
                queue.join(ticket.id, 0, min(now, appointment.start), target_wait, Placement.SORTED)
            else:  # boosted or walk-in: issued now, placed by the queue's policy
                queue.join(ticket.id, priority, now, target_wait)
            self.store.save_in_context(context, appointment, counter, ticket, queue)
        return CheckInView(
            appointment=appointment_view(appointment),
            placement=placement,
            ticket=ticket_view(self.store, ticket, queue),
        )

    def check_in_by_code(
        self, context: CommandContext, site_id: UUID, code: str, channel: str = "kiosk"
    ) -> CheckInView:
        """Check in the appointment of today's booking ``code`` at the site (the kiosk's);
        ``404 appointment_not_found`` when no appointment of today has that code there."""
        return self.check_in_appointment(
            context, self.find_by_code(context.tenant_id, site_id, code), channel
        )

    def find_by_code(self, tenant_id: UUID | None, site_id: UUID, code: str) -> UUID:
        """The appointment holding booking ``code`` at the site on its local today."""
        code = code.strip().upper()
        if not code or len(code) > MAX_CODE_LENGTH or "-" not in code:
            raise InvalidInput("code must be a booking code like DEP-K7QMX")
        site = self.store.load(Site, site_id, tenant_id, ResourceNotFound)
        tenant = self.store.load(Tenant, site.tenant_id, tenant_id, ResourceNotFound)
        service_id = tenant.service_codes.get(code.rsplit("-", 1)[0])
        if service_id is not None:
            # Today first, then the neighbouring days: a check-in window crosses midnight
            # (23:50 for a 00:05 appointment); the window itself is checked on check-in.
            now = self.store.clock()
            around = (now, now + timedelta(days=1), now - timedelta(days=1))
            for day in (local_day(moment, site.timezone) for moment in around):
                schedule = self.store.find(Schedule, Schedule.create_id(site.id, service_id, day))
                for key, booking in (schedule.bookings if schedule else {}).items():
                    if booking["code"] == code:
                        return UUID(key)
        raise AppointmentNotFound("no appointment around today at this site has that code")

    @retry_on_conflict
    def mark_no_show(self, context: CommandContext, appointment_id: UUID) -> AppointmentView:
        """Mark a live appointment no-show once its check-in window has closed; a conflict
        (409) when it was checked in, cancelled or marked already, or while its window is open
        (a rescheduled appointment's window moved)."""
        appointment = self.store.load(
            Appointment, appointment_id, context.tenant_id, AppointmentNotFound
        )
        service = self.store.load(
            Service, appointment.service_id, context.tenant_id, ResourceNotFound
        )
        now = self.store.clock()
        closes_at = no_show_at(appointment.start, service.booking_rules.late_minutes)
        if now <= closes_at:
            raise AppointmentClosed(f"its check-in window is open until {closes_at.isoformat()}")
        appointment.mark_no_show(now)
        self.store.save_in_context(context, appointment)
        return appointment_view(appointment)

    # -- helpers ---------------------------------------------------------------------------------

    def _queue_for(self, tenant_id: UUID | None, site_id: UUID, service_id: UUID) -> Queue:
        """The first open queue of the site serving the service (in the order they opened)."""
        site = self.store.load(Site, site_id, tenant_id, ResourceNotFound)
        tenant = self.store.load(Tenant, site.tenant_id, tenant_id, ResourceNotFound)
        for queue_id in tenant.queue_ids:
            queue = self.store.find(Queue, queue_id)
            if (
                queue is not None
                and queue.site_id == site_id
                and service_id in queue.service_ids
                and queue.status == QueueStatus.OPEN
            ):
                return queue
        raise NoQueueForService("no open queue of this site serves the appointment's service")
