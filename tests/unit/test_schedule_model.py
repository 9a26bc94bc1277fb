"""The Schedule never hands out more places than a slot has, whatever the sequence of bookings,
cancellations, moves, holds (booked, released, expired as the clock moves) and check-ins:
model-tested against a plain-Python model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from application.appointments import Appointments
from application.check_in import CheckIns
from domain.booking import AppointmentError, HoldExpired, HoldNotFound, HoldStillLive
from domain.customers import Customer, Preferences
from domain.schedule import CODE_ALPHABET, Schedule, booking_code, slot_key
from tests.unit.world import make_world

CAPACITY = 2
HOLD_MINUTES = 5
BASE = datetime(2024, 1, 16, 9, 0, tzinfo=UTC)
# Two days, three slots a day: moves within a day and across days are both exercised.
STARTS = [BASE + timedelta(days=day, minutes=15 * slot) for day in (0, 1) for slot in range(3)]


def add_customer(world) -> UUID:
    """A customer aggregate of the world's tenant (no profile: booking needs none)."""
    customer = Customer(
        tenant_id=world.tenant_id, preferences=Preferences.parse((), "en", None).as_dict()
    )
    world.app.save_in_context(world.context, customer)
    return customer.id


def test_codes_of_one_schedule_are_distinct_readable_and_prefixed():
    schedule_id = uuid4()
    codes = [booking_code(schedule_id, "DEP", n) for n in range(1, 20_001)]
    assert len(set(codes)) == len(codes)
    for code in codes[:100]:
        prefix, suffix = code.split("-")
        assert prefix == "DEP" and len(suffix) == 5 and set(suffix) <= set(CODE_ALPHABET)
    assert not set(CODE_ALPHABET) & set("0O1IL2Z5S8B")


def test_a_schedule_id_is_derived_from_site_service_and_day():
    site, service = uuid4(), uuid4()
    assert Schedule.create_id(site, service, "2026-01-12") == Schedule.create_id(
        site, service, "2026-01-12"
    )
    assert Schedule.create_id(site, service, "2026-01-12") != Schedule.create_id(
        site, service, "2026-01-13"
    )


class BookingMachine(RuleBasedStateMachine):
    """Book, cancel, reschedule, hold, book with a hold, release, expire, check in and move the
    clock at random; the model says which should succeed."""

    def __init__(self) -> None:
        super().__init__()
        # 20 minutes before the first slot: day 0's check-in windows open as the clock moves,
        # and its slots pass (too late to book or move them then).
        self.world = make_world(now=BASE - timedelta(minutes=20))
        self.service_id = self.world.service("A")
        self.world.catalogue.change_service(
            self.world.context,
            self.service_id,
            booking={
                "capacity": CAPACITY,
                "per_customer_per_day": 2,
                "hold_minutes": HOLD_MINUTES,
            },
        )
        self.world.queue(self.service_id)
        self.customers = [add_customer(self.world), add_customer(self.world)]
        self.appointments = Appointments(self.world.app)
        self.check_ins = CheckIns(self.world.app)
        # The model: appointments holding a place (start, customer, still open to changes),
        # and holds not recorded as gone (schedule id, start, expires at).
        self.live: dict[UUID, tuple[datetime, UUID | None, bool]] = {}
        self.holds: dict[UUID, tuple[UUID, datetime, datetime]] = {}

    @property
    def now(self) -> datetime:
        return self.world.clock()

    def _unexpired(self, hold_id: UUID) -> bool:
        return self.now < self.holds[hold_id][2]

    def _taken(self, start: datetime) -> int:
        booked = sum(1 for held, _, _ in self.live.values() if held == start)
        held = sum(
            1 for key, (_, at, _) in self.holds.items() if at == start and self._unexpired(key)
        )
        return booked + held

    def _held(self, customer_id: UUID | None, day: int, exclude: UUID | None = None) -> int:
        return sum(
            1
            for key, (held, customer, _) in self.live.items()
            if customer == customer_id and held.date() == STARTS[day * 3].date() and key != exclude
        )

    @rule(start=st.sampled_from(STARTS), who=st.sampled_from([None, 0, 1]))
    def book(self, start: datetime, who: int | None) -> None:
        customer = None if who is None else self.customers[who]
        expected = (
            start >= self.now
            and self._taken(start) < CAPACITY
            and (customer is None or self._held(customer, STARTS.index(start) // 3) < 2)
        )
        try:
            view = self.appointments.book_appointment(
                self.world.context, self.world.site_id, self.service_id, start, customer
            )
        except AppointmentError:
            assert not expected
            return
        assert expected
        self.live[view.id] = (start, customer, True)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        appointment_id = list(self.live)[data.draw(st.integers(0, len(self.live) - 1))]
        start, _, open_ = self.live[appointment_id]
        try:
            self.appointments.cancel_appointment(self.world.context, appointment_id)
        except AppointmentError:
            assert not (open_ and self.now <= start)
            return
        assert open_ and self.now <= start
        del self.live[appointment_id]

    @precondition(lambda self: self.live)
    @rule(data=st.data(), start=st.sampled_from(STARTS))
    def reschedule(self, data: st.DataObject, start: datetime) -> None:
        appointment_id = list(self.live)[data.draw(st.integers(0, len(self.live) - 1))]
        old_start, customer, open_ = self.live[appointment_id]
        free = self._taken(start) - (1 if old_start == start else 0) < CAPACITY
        within_limit = (
            customer is None
            or self._held(customer, STARTS.index(start) // 3, exclude=appointment_id) < 2
        )
        expected = open_ and self.now <= old_start and start >= self.now and free and within_limit
        try:
            self.appointments.reschedule_appointment(self.world.context, appointment_id, start)
        except AppointmentError:
            assert not expected
            return
        assert expected
        self.live[appointment_id] = (start, customer, True)

    @rule(start=st.sampled_from(STARTS))
    def hold(self, start: datetime) -> None:
        expected = start >= self.now and self._taken(start) < CAPACITY
        try:
            held = self.appointments.hold_slot(
                self.world.context, self.world.site_id, self.service_id, start
            )
        except AppointmentError:
            assert not expected
            return
        assert expected
        assert held.expires_at == self.now + timedelta(minutes=HOLD_MINUTES)
        self.holds[held.id] = (held.schedule_id, start, held.expires_at)

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), who=st.sampled_from([None, 0, 1]))
    def book_with_hold(self, data: st.DataObject, who: int | None) -> None:
        hold_id = list(self.holds)[data.draw(st.integers(0, len(self.holds) - 1))]
        schedule_id, start, _ = self.holds[hold_id]
        customer = None if who is None else self.customers[who]
        live = self._unexpired(hold_id)
        within_limit = customer is None or self._held(customer, STARTS.index(start) // 3) < 2
        try:
            view = self.appointments.book_hold(self.world.context, schedule_id, hold_id, customer)
        except HoldExpired:
            assert not live
            return
        except AppointmentError:
            assert live and not within_limit
            return
        assert live and within_limit
        assert view.start == start
        del self.holds[hold_id]
        self.live[view.id] = (start, customer, True)

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold_id = list(self.holds)[data.draw(st.integers(0, len(self.holds) - 1))]
        live = self._unexpired(hold_id)
        try:
            self.appointments.release_hold(self.world.context, self.holds[hold_id][0], hold_id)
        except HoldNotFound:
            assert not live
            return
        assert live
        del self.holds[hold_id]

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), twice=st.booleans())
    def expire(self, data: st.DataObject, twice: bool) -> None:
        """The expiry job: records once, only after the hold's time (a rerun does nothing)."""
        hold_id = list(self.holds)[data.draw(st.integers(0, len(self.holds) - 1))]
        schedule_id = self.holds[hold_id][0]
        context = self.world.context
        try:
            recorded = self.appointments.expire_hold(context, schedule_id, hold_id)
        except HoldStillLive:
            assert self._unexpired(hold_id)
            return
        assert recorded and not self._unexpired(hold_id)
        del self.holds[hold_id]
        if twice:
            assert self.appointments.expire_hold(context, schedule_id, hold_id) is False

    @rule(minutes=st.integers(1, 4))
    def clock_moves(self, minutes: int) -> None:
        self.world.clock.advance(minutes=minutes)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def check_in(self, data: st.DataObject) -> None:
        appointment_id = list(self.live)[data.draw(st.integers(0, len(self.live) - 1))]
        start, customer, open_ = self.live[appointment_id]
        in_window = start - timedelta(minutes=30) <= self.now
        try:
            self.check_ins.check_in_appointment(self.world.context, appointment_id)
        except AppointmentError:
            assert not (open_ and in_window)
            return
        assert open_ and in_window
        # Checked in (or late, a walk-in): the place stays taken, the appointment is closed.
        self.live[appointment_id] = (start, customer, False)

    @invariant()
    def taken_counts_equal_appointments_and_unexpired_holds_and_never_exceed_capacity(
        self,
    ) -> None:
        for day in (0, 1):
            schedule = self.world.app.find(
                Schedule,
                Schedule.create_id(
                    self.world.site_id,
                    self.service_id,
                    STARTS[day * 3].astimezone(self._paris()).date().isoformat(),
                ),
            )
            counts = schedule.taken_by_slot(self.now) if schedule else {}
            for start in STARTS[day * 3 : day * 3 + 3]:
                assert counts.get(slot_key(start), 0) == self._taken(start) <= CAPACITY
            if schedule:
                codes = [booking["code"] for booking in schedule.bookings.values()]
                assert len(set(codes)) == len(codes)
                recorded = {UUID(key) for key in schedule.holds}
                assert recorded == {
                    k for k, (sid, _, _) in self.holds.items() if sid == schedule.id
                }

    @staticmethod
    def _paris():
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Paris")


BookingMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_booking_never_exceeds_capacity = BookingMachine.TestCase


def test_a_snapshotted_schedule_keeps_its_holds_and_their_expiry():
    world = make_world(now=BASE - timedelta(days=1))
    service_id = world.service("A")
    appointments = Appointments(world.app)
    # Past the snapshot interval, so the schedule is loaded from a snapshot with a hold in it.
    for _ in range(26):
        held = appointments.hold_slot(world.context, world.site_id, service_id, STARTS[0])
        appointments.release_hold(world.context, held.schedule_id, held.id)
    kept = appointments.hold_slot(world.context, world.site_id, service_id, STARTS[1])
    assert world.app.snapshots is not None
    assert list(world.app.snapshots.get(kept.schedule_id))
    view = appointments.get_hold(world.tenant_id, kept.schedule_id, kept.id)
    assert (view.start, view.expires_at) == (kept.start, kept.expires_at)
    world.clock.advance(minutes=5)
    assert appointments.expire_hold(world.context, kept.schedule_id, kept.id) is True
