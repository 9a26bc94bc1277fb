"""Appointments: booking a slot of a service at a site, moving it, cancelling it, listing a day.

Capacity is decided by the write model: each booking takes a place in the day's ``Schedule``
and saves it with the ``Appointment`` in one transaction; a concurrent booker of the same day
loses on optimistic concurrency, reloads and decides again (``retry_on_conflict``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from application.app import SmartQueue
from application.appointment_views import (
    AppointmentFilter,
    AppointmentRecords,
    AppointmentView,
    HoldExpiryScheduler,
    HoldView,
    NoShowScheduler,
    appointment_view,
    status_filter,
)
from application.base import retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest
from domain.appointments import Appointment
from domain.booking import (
    AppointmentNotFound,
    BookingRules,
    HoldExpired,
    HoldNotFound,
    HoldStillLive,
    check_bookable,
    check_can_cancel,
    local_day,
    no_show_at,
)
from domain.customers import Customer
from domain.errors import CustomerNotFound, InvalidInput, ResourceNotFound
from domain.hours import WeeklyHours, open_intervals
from domain.schedule import Schedule
from domain.tenancy import Service, Site


def site_hours(site: Site) -> WeeklyHours | None:
    """The site's weekly hours, or ``None`` if they were never entered (open at all times); a
    week set with no opening at all is closed every day."""
    return site.opening_hours


def _aware(start: datetime) -> datetime:
    if start.tzinfo is None or start.utcoffset() is None:
        raise InvalidInput("start must carry a time zone offset, like 2026-12-07T09:00:00+01:00")
    # Far from the calendar's ends, so moving it to the site's zone cannot overflow.
    if not 1970 <= start.year <= 9000:
        raise InvalidInput("start must be a time between the years 1970 and 9000")
    return start


class Appointments:
    """Booking, rescheduling and cancelling appointments, and the day's list."""

    def __init__(
        self,
        store: SmartQueue,
        no_shows: NoShowScheduler | None = None,
        records: AppointmentRecords | None = None,
        hold_expiries: HoldExpiryScheduler | None = None,
    ) -> None:
        self.store = store
        self.no_shows = no_shows
        """Schedules each booking's no-show before it is saved (so a saved booking cannot lack
        one; a job whose booking was not saved finds nothing); ``None``: no no-shows."""
        self.records = records
        """The day list's read model; ``None`` in a process that lists nothing."""
        self.hold_expiries = hold_expiries
        """Schedules each hold's expiry before it is saved, likewise; ``None``: expired holds
        stay recorded (capacity ignores them anyway)."""

    @retry_on_conflict
    def book_appointment(
        self,
        context: CommandContext,
        site_id: UUID,
        service_id: UUID,
        start: datetime,
        customer_id: UUID | None = None,
    ) -> AppointmentView:
        """Book a place in the slot starting at ``start``; refused with the rule it breaks
        (``slot_full``, ``too_late_to_book``, ``beyond_horizon``, ``outside_opening_hours``,
        ``customer_limit``)."""
        site = self.store.load(Site, site_id, context.tenant_id, ResourceNotFound)
        service = self.store.load(Service, service_id, context.tenant_id, ResourceNotFound)
        if customer_id is not None:
            customer = self.store.load(Customer, customer_id, context.tenant_id, CustomerNotFound)
            customer.check_live()
        rules = service.booking_rules
        start, end, day = self._slot(site, rules, _aware(start))
        schedule = self._schedule(site, service, day)
        appointment_id = uuid4()
        code = schedule.take(
            appointment_id,
            start,
            rules.capacity,
            customer_id,
            rules.per_customer_per_day,
            now=self.store.clock(),
        )
        appointment = Appointment(
            id=appointment_id,
            tenant_id=site.tenant_id,
            site_id=site.id,
            service_id=service.id,
            day=day.isoformat(),
            start=start,
            end=end,
            code=code,
            customer_id=customer_id,
        )
        self._schedule_no_show(appointment, rules)
        self.store.save_in_context(context, schedule, appointment)
        return appointment_view(appointment)

    @retry_on_conflict
    def hold_slot(
        self, context: CommandContext, site_id: UUID, service_id: UUID, start: datetime
    ) -> HoldView:
        """Keep a place of the slot starting at ``start`` for the service's ``hold_minutes``
        while an online booker confirms; refused like a booking (``slot_full``...)."""
        site = self.store.load(Site, site_id, context.tenant_id, ResourceNotFound)
        service = self.store.load(Service, service_id, context.tenant_id, ResourceNotFound)
        rules = service.booking_rules
        start, end, day = self._slot(site, rules, _aware(start))
        schedule = self._schedule(site, service, day)
        now = self.store.clock()
        hold_id, expires_at = uuid4(), now + timedelta(minutes=rules.hold_minutes)
        schedule.hold(hold_id, start, rules.capacity, now, expires_at)
        if self.hold_expiries is not None:
            self.hold_expiries.schedule_hold_expiry(
                site.tenant_id, schedule.id, hold_id, expires_at
            )
        self.store.save_in_context(context, schedule)
        return HoldView(
            id=hold_id,
            schedule_id=schedule.id,
            site_id=site.id,
            service_id=service.id,
            start=start,
            end=end,
            expires_at=expires_at,
        )

    @retry_on_conflict
    def release_hold(self, context: CommandContext, schedule_id: UUID, hold_id: UUID) -> None:
        """The booker lets a live hold go: its place is free at once. ``hold_not_found`` when
        it expired, was booked or released, or never existed."""
        schedule = self._held_schedule(context.tenant_id, schedule_id)
        if schedule.live_hold(hold_id, self.store.clock()) is None:
            raise HoldNotFound("no such hold (it may have expired)")
        schedule.release_hold(hold_id, expired=False)
        self.store.save_in_context(context, schedule)

    @retry_on_conflict
    def expire_hold(self, context: CommandContext, schedule_id: UUID, hold_id: UUID) -> bool:
        """Record that a hold ran out, once its time has come; ``False`` (nothing recorded)
        when it was booked, released or expired already. ``HoldStillLive`` before its time."""
        schedule = self._held_schedule(context.tenant_id, schedule_id)
        hold = schedule.holds.get(str(hold_id))
        if hold is None:
            return False
        expires_at = hold["expires_at"]
        if schedule.live_hold(hold_id, self.store.clock()) is not None:
            raise HoldStillLive(expires_at)  # type: ignore[arg-type]
        schedule.release_hold(hold_id, expired=True)
        self.store.save_in_context(context, schedule)
        return True

    def get_hold(self, tenant_id: UUID, schedule_id: UUID, hold_id: UUID) -> HoldView:
        """A live hold (``hold_not_found`` once it expired, was booked or released)."""
        schedule = self._held_schedule(tenant_id, schedule_id)
        hold = schedule.live_hold(hold_id, self.store.clock())
        if hold is None:
            raise HoldNotFound("no such hold (it may have expired)")
        service = self.store.load(Service, schedule.service_id, tenant_id, ResourceNotFound)
        start = datetime.fromisoformat(str(hold["start"]))
        return HoldView(
            id=hold_id,
            schedule_id=schedule.id,
            site_id=schedule.site_id,
            service_id=schedule.service_id,
            start=start,
            end=start + timedelta(minutes=service.booking_rules.slot_minutes),
            expires_at=hold["expires_at"],  # type: ignore[arg-type]
        )

    @retry_on_conflict
    def book_hold(
        self,
        context: CommandContext,
        schedule_id: UUID,
        hold_id: UUID,
        customer_id: UUID | None = None,
    ) -> AppointmentView:
        """Book the place a live hold keeps, in one save (it is never free in between);
        ``hold_expired`` when the hold ran out, was released or booked already."""
        schedule = self._held_schedule(context.tenant_id, schedule_id, HoldExpired)
        site = self.store.load(Site, schedule.site_id, context.tenant_id, ResourceNotFound)
        service = self.store.load(Service, schedule.service_id, context.tenant_id, ResourceNotFound)
        if customer_id is not None:
            customer = self.store.load(Customer, customer_id, context.tenant_id, CustomerNotFound)
            customer.check_live()
        rules = service.booking_rules
        appointment_id = uuid4()
        key, code = schedule.book_hold(
            hold_id, appointment_id, customer_id, rules.per_customer_per_day, self.store.clock()
        )
        tz = ZoneInfo(site.timezone)
        start = datetime.fromisoformat(key).astimezone(tz)
        appointment = Appointment(
            id=appointment_id,
            tenant_id=site.tenant_id,
            site_id=site.id,
            service_id=service.id,
            day=schedule.day,
            start=start,
            end=(
                start.astimezone(ZoneInfo("UTC")) + timedelta(minutes=rules.slot_minutes)
            ).astimezone(tz),
            code=code,
            customer_id=customer_id,
        )
        self._schedule_no_show(appointment, rules)
        self.store.save_in_context(context, schedule, appointment)
        return appointment_view(appointment)

    @retry_on_conflict
    def reschedule_appointment(
        self, context: CommandContext, appointment_id: UUID, start: datetime
    ) -> AppointmentView:
        """Move an appointment to another slot (of any day): its old place is freed and the new
        one taken in one transaction, so it never holds both, nor neither."""
        appointment = self._load(context.tenant_id, appointment_id)
        appointment.check_live("reschedule")
        site = self.store.load(Site, appointment.site_id, context.tenant_id, ResourceNotFound)
        service = self.store.load(
            Service, appointment.service_id, context.tenant_id, ResourceNotFound
        )
        rules = service.booking_rules
        check_can_cancel(rules, appointment.start, self.store.clock())
        start, end, day = self._slot(site, rules, _aware(start))
        old = self._existing_schedule(appointment)
        new = old if old.day == day.isoformat() else self._schedule(site, service, day)
        kept_code = old.release(appointment.id, cancelled=False)
        code = new.take(
            appointment.id,
            start,
            rules.capacity,
            appointment.customer_id,
            rules.per_customer_per_day,
            code=kept_code if new is old else None,
            now=self.store.clock(),
        )
        appointment.reschedule(day.isoformat(), start, end, code)
        self._schedule_no_show(appointment, rules)
        changed = [old, appointment] if new is old else [old, new, appointment]
        self.store.save_in_context(context, *changed)
        return appointment_view(appointment)

    @retry_on_conflict
    def cancel_appointment(self, context: CommandContext, appointment_id: UUID) -> AppointmentView:
        """Cancel an appointment, freeing its place; refused past the service's cut-off."""
        appointment = self._load(context.tenant_id, appointment_id)
        appointment.check_live("cancel")
        service = self.store.load(
            Service, appointment.service_id, context.tenant_id, ResourceNotFound
        )
        now = self.store.clock()
        check_can_cancel(service.booking_rules, appointment.start, now)
        schedule = self._existing_schedule(appointment)
        schedule.release(appointment.id, cancelled=True)
        appointment.cancel(now)
        self.store.save_in_context(context, schedule, appointment)
        return appointment_view(appointment)

    def get_appointment(self, tenant_id: UUID, appointment_id: UUID) -> AppointmentView:
        """One appointment of the tenant."""
        return appointment_view(self._load(tenant_id, appointment_id))

    def list_appointments(
        self,
        tenant_id: UUID,
        site_id: UUID,
        day: date,
        service_id: UUID | None = None,
        status: str = "live",
        page: PageRequest | None = None,
        customer_id: UUID | None = None,
    ) -> Page[AppointmentView]:
        """A page of one site's appointments on a local day, by start (then id), from the
        appointments read model: those holding a place (``live``), ``all``, or those of one
        status; of one service or every one; of one customer or everyone's."""
        if self.records is None:
            raise RuntimeError("the day list needs the appointments read model; wire its records")
        where = AppointmentFilter(
            site_id=site_id,
            day=day,
            statuses=status_filter(status),
            service_id=service_id,
            customer_id=customer_id,
        )
        self.store.load(Site, site_id, tenant_id, ResourceNotFound)
        if service_id is not None:
            self.store.load(Service, service_id, tenant_id, ResourceNotFound)
        return self.records.search(tenant_id, where, page or PageRequest())

    # -- helpers ---------------------------------------------------------------------------------

    def _slot(
        self, site: Site, rules: BookingRules, start: datetime
    ) -> tuple[datetime, datetime, date]:
        """The slot starting at ``start`` and its local day, if it may be booked now."""
        tz = ZoneInfo(site.timezone)
        day = local_day(start, tz)
        intervals = open_intervals(site_hours(site), site.closed_dates, day, tz)
        end = check_bookable(rules, intervals, start, self.store.clock(), tz)
        return start.astimezone(tz), end.astimezone(tz), day

    def _schedule(self, site: Site, service: Service, day: date) -> Schedule:
        """The day's schedule of the service at the site, opened if nobody booked it yet (a
        concurrent opener makes one of the two saves fail and retry, finding it)."""
        schedule_id = Schedule.create_id(site.id, service.id, day.isoformat())
        schedule = self.store.find(Schedule, schedule_id)
        if schedule is None:
            schedule = Schedule(
                tenant_id=site.tenant_id,
                site_id=site.id,
                service_id=service.id,
                day=day.isoformat(),
                code_prefix=service.code,
            )
        return schedule

    def _held_schedule(
        self,
        tenant_id: UUID | None,
        schedule_id: UUID,
        missing: type[Exception] = HoldNotFound,
    ) -> Schedule:
        schedule = self.store.find(Schedule, schedule_id)
        if schedule is None or schedule.tenant_id != tenant_id:
            raise missing("no such hold (it may have expired)")
        return schedule

    def _existing_schedule(self, appointment: Appointment) -> Schedule:
        schedule_id = Schedule.create_id(
            appointment.site_id, appointment.service_id, appointment.day
        )
        schedule = self.store.find(Schedule, schedule_id)
        if schedule is None:  # pragma: no cover - an appointment is always saved with its schedule
            raise RuntimeError(f"appointment {appointment.id} has no schedule")
        return schedule

    def _schedule_no_show(self, appointment: Appointment, rules: BookingRules) -> None:
        if self.no_shows is not None:
            self.no_shows.schedule_no_show(
                appointment.tenant_id,
                appointment.id,
                no_show_at(appointment.start, rules.late_minutes),
            )

    def _load(self, tenant_id: UUID | None, appointment_id: UUID) -> Appointment:
        return self.store.load(Appointment, appointment_id, tenant_id, AppointmentNotFound)
