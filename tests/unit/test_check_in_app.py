"""Checking appointments in and marking no-shows, through the application, in memory."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from eventsourcing.persistence import StoredEvent

from application.appointments import Appointments
from application.check_in import CheckIns
from domain.appointments import Appointment
from domain.booking import (
    AlreadyCheckedIn,
    AppointmentClosed,
    AppointmentNotFound,
    NoQueueForService,
    TooEarlyToCheckIn,
)
from domain.errors import ResourceNotFound
from domain.queues import Queue
from domain.tickets import Ticket
from tests.unit.world import make_world

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris
TEN = datetime(2026, 1, 12, 10, 0, tzinfo=PARIS)


@pytest.fixture
def world():
    return make_world(now=NOW)


@pytest.fixture
def desk(world):
    """The service (early 30, late 10 minutes: the defaults), its queue, and the contexts."""
    service_id = world.service("DEP")
    world.catalogue.change_service(world.context, service_id, booking={"capacity": 5})
    queue_id = world.queue(service_id)
    return service_id, queue_id, Appointments(world.app), CheckIns(world.app)


def book(world, desk, start=TEN):
    service_id, _, appointments, _ = desk
    return appointments.book_appointment(world.context, world.site_id, service_id, start)


def at(world, moment: datetime) -> None:
    world.clock.now = moment.astimezone(UTC)


def numbers_in_line(world, queue_id) -> list[str]:
    """The waiting tickets' numbers in arrival-rank order (the queue is FIFO)."""
    queue = world.app.find(Queue, queue_id)
    ordered = sorted(queue.waiting, key=lambda entry: entry.rank)
    return [world.app.find(Ticket, entry.ticket_id).number for entry in ordered]


def test_a_check_in_before_the_window_is_refused_with_when_it_opens(world, desk):
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=31))
    with pytest.raises(TooEarlyToCheckIn) as refused:
        desk[3].check_in_appointment(world.context, appointment.id)
    assert refused.value.opens_at == (TEN - timedelta(minutes=30)).astimezone(UTC)
    assert refused.value.code == "too_early"
    assert desk[2].get_appointment(world.tenant_id, appointment.id).status == "booked"


def test_an_on_time_check_in_joins_the_queue_placed_by_its_booked_time(world, desk):
    _, queue_id, appointments, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=5))
    early = world.issue(queue_id)  # a walk-in who came before the booked time
    at(world, TEN + timedelta(minutes=2))
    late = world.issue(queue_id)  # one who came after it
    at(world, TEN + timedelta(minutes=8))
    checked = check_ins.check_in_appointment(world.context, appointment.id)
    assert checked.placement == "booked_time"
    assert checked.appointment.status == "checked_in"
    assert checked.ticket.status == "waiting" and checked.ticket.position == 2
    assert numbers_in_line(world, queue_id) == [early, checked.ticket.number, late]
    assert world.app.transactions[-1] >= {
        "Appointment.CheckedIn",
        "Ticket.Issued",
        "Queue.TicketJoined",
    }
    stored = appointments.get_appointment(world.tenant_id, appointment.id)
    assert stored.status == "checked_in"
    assert (stored.ticket_id, stored.placement) == (checked.ticket.id, "booked_time")


def test_an_early_check_in_stands_as_if_it_came_now(world, desk):
    _, queue_id, _, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=20))
    before = world.issue(queue_id)
    at(world, TEN - timedelta(minutes=15))
    checked = check_ins.check_in_appointment(world.context, appointment.id)
    at(world, TEN - timedelta(minutes=10))
    after = world.issue(queue_id)
    assert numbers_in_line(world, queue_id) == [before, checked.ticket.number, after]


def test_a_check_in_after_the_late_window_is_a_walk_in_and_the_appointment_missed(world, desk):
    _, queue_id, appointments, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN + timedelta(minutes=5))
    first = world.issue(queue_id)
    at(world, TEN + timedelta(minutes=11))
    checked = check_ins.check_in_appointment(world.context, appointment.id)
    assert checked.placement == "walk_in"
    assert checked.appointment.status == "no_show"
    assert numbers_in_line(world, queue_id) == [first, checked.ticket.number]
    assert appointments.get_appointment(world.tenant_id, appointment.id).status == "no_show"


def test_a_second_check_in_is_refused_and_issues_no_ticket(world, desk):
    _, queue_id, _, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN)
    check_ins.check_in_appointment(world.context, appointment.id)
    with pytest.raises(AlreadyCheckedIn):
        check_ins.check_in_appointment(world.context, appointment.id)
    at(world, TEN + timedelta(hours=1))  # late now: still the same appointment
    with pytest.raises(AlreadyCheckedIn):
        check_ins.check_in_appointment(world.context, appointment.id)
    world.pause_queue(queue_id)  # the answer does not depend on the queue any more
    with pytest.raises(AlreadyCheckedIn):
        check_ins.check_in_appointment(world.context, appointment.id)
    assert len(numbers_in_line(world, queue_id)) == 1


def test_the_kiosk_checks_in_with_todays_booking_code(world, desk):
    _, _, _, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN)
    with pytest.raises(AppointmentNotFound):
        check_ins.check_in_by_code(world.context, world.site_id, "DEP-AAAAA")
    with pytest.raises(AppointmentNotFound):
        check_ins.check_in_by_code(world.context, world.site_id, "ZZZ-AAAAA")
    checked = check_ins.check_in_by_code(
        world.context, world.site_id, f" {appointment.code.lower()} "
    )
    assert checked.appointment.id == appointment.id
    assert checked.ticket.channel == "kiosk"
    other = make_world(now=NOW, app=world.app)
    with pytest.raises(ResourceNotFound):  # another tenant's site
        check_ins.check_in_by_code(other.context, world.site_id, appointment.code)


def test_a_booking_code_checks_in_across_midnight_of_the_site(world, desk):
    """At 23:55 on the site's clock, a 00:15 appointment is in tomorrow's schedule and inside
    its 30-minute window: the kiosk finds it by code (the code was 'not found' before)."""
    just_after_midnight = datetime(2026, 1, 13, 0, 15, tzinfo=PARIS)
    appointment = book(world, desk, start=just_after_midnight)
    at(world, just_after_midnight - timedelta(minutes=20))  # 23:55
    checked = desk[3].check_in_by_code(world.context, world.site_id, appointment.code)
    assert checked.appointment.id == appointment.id
    assert checked.placement == "booked_time"


def test_a_cancelled_appointment_cannot_be_checked_in(world, desk):
    appointment = book(world, desk)
    desk[2].cancel_appointment(world.context, appointment.id)
    at(world, TEN)
    with pytest.raises(AppointmentClosed):
        desk[3].check_in_appointment(world.context, appointment.id)


def test_without_an_open_queue_serving_the_service_check_in_is_refused(world):
    service_id = world.service("VAC")
    appointments, check_ins = Appointments(world.app), CheckIns(world.app)
    appointment = appointments.book_appointment(world.context, world.site_id, service_id, TEN)
    world.queue(world.service("OTH"))
    at(world, TEN)
    with pytest.raises(NoQueueForService):
        check_ins.check_in_appointment(world.context, appointment.id)


def test_no_show_waits_for_the_end_of_the_window_and_happens_once(world, desk):
    _, _, _, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN + timedelta(minutes=10))
    with pytest.raises(AppointmentClosed, match="window is open"):
        check_ins.mark_no_show(world.context, appointment.id)
    at(world, TEN + timedelta(minutes=10, seconds=1))
    assert check_ins.mark_no_show(world.context, appointment.id).status == "no_show"
    assert world.app.transactions[-1] == {"Appointment.MarkedNoShow"}
    with pytest.raises(AppointmentClosed):
        check_ins.mark_no_show(world.context, appointment.id)
    # The customer arrives later still: a walk-in ticket, recorded on the missed appointment.
    checked = check_ins.check_in_appointment(world.context, appointment.id)
    assert checked.placement == "walk_in" and checked.appointment.status == "no_show"
    with pytest.raises(AlreadyCheckedIn):
        check_ins.check_in_appointment(world.context, appointment.id)


def test_a_checked_in_appointment_is_never_marked_no_show(world, desk):
    appointment = book(world, desk)
    at(world, TEN)
    desk[3].check_in_appointment(world.context, appointment.id)
    at(world, TEN + timedelta(hours=1))
    with pytest.raises(AppointmentClosed):
        desk[3].mark_no_show(world.context, appointment.id)


class RecordingScheduler:
    """Records the no-shows scheduled, and what the store held when each was."""

    def __init__(self, world) -> None:
        self.world = world
        self.scheduled: list[tuple] = []

    def schedule_no_show(self, tenant_id, appointment_id, at) -> None:
        saved = self.world.app.find(Appointment, appointment_id)
        self.scheduled.append(
            (tenant_id, appointment_id, at, None if saved is None else saved.start)
        )


def test_a_booking_and_a_move_schedule_the_no_show_before_they_are_saved(world, desk):
    service_id = desk[0]
    scheduler = RecordingScheduler(world)
    appointments = Appointments(world.app, scheduler)
    booked = appointments.book_appointment(world.context, world.site_id, service_id, TEN)
    later = TEN + timedelta(minutes=45)
    appointments.reschedule_appointment(world.context, booked.id, later)
    late = timedelta(minutes=10)
    assert scheduler.scheduled == [
        (world.tenant_id, booked.id, TEN + late, None),  # not saved yet
        (world.tenant_id, booked.id, later + late, TEN),  # the move not saved yet
    ]


def _serve(world, queue_id, ticket_id, finish: str = "close") -> None:
    """An agent calls the line's next ticket (``ticket_id``), starts it and ends it."""
    agent_id = world.agent()
    called = world.staffing.call_next(world.context, agent_id, queue_id)
    assert called is not None and called.id == ticket_id
    if finish == "close":
        world.tickets.start_ticket(world.context, ticket_id)
        world.tickets.close_ticket(world.context, ticket_id)
    else:
        world.tickets.mark_no_show(world.context, ticket_id)


def test_completing_the_check_ins_ticket_serves_the_appointment_in_the_same_save(world, desk):
    _, queue_id, appointments, check_ins = desk
    appointment = book(world, desk)
    at(world, TEN)
    checked = check_ins.check_in_appointment(world.context, appointment.id)
    assert world.app.find(Ticket, checked.ticket.id).appointment_id == appointment.id
    _serve(world, queue_id, checked.ticket.id)
    assert world.app.transactions[-1] >= {"Ticket.Completed", "Appointment.Served"}
    served = appointments.get_appointment(world.tenant_id, appointment.id)
    assert served.status == "served"
    assert world.app.find(Appointment, appointment.id).served_at == TEN.astimezone(UTC)


def test_a_walk_in_ticket_and_a_no_show_ticket_leave_the_appointment_as_it_was(world, desk):
    _, queue_id, appointments, check_ins = desk
    missed, on_time = book(world, desk), book(world, desk)
    at(world, TEN)
    kept = check_ins.check_in_appointment(world.context, on_time.id)
    _serve(world, queue_id, kept.ticket.id, finish="no_show")
    at(world, TEN + timedelta(minutes=11))
    late = check_ins.check_in_appointment(world.context, missed.id)
    _serve(world, queue_id, late.ticket.id)
    assert "Appointment.Served" not in world.app.transactions[-1]
    assert appointments.get_appointment(world.tenant_id, missed.id).status == "no_show"
    assert appointments.get_appointment(world.tenant_id, on_time.id).status == "checked_in"


def test_a_plain_ticket_records_no_appointment(world, desk):
    _, queue_id, _, _ = desk
    world.issue(queue_id)
    (entry,) = world.app.find(Queue, queue_id).waiting
    assert world.app.find(Ticket, entry.ticket_id).appointment_id is None


def test_a_ticket_issued_before_check_ins_recorded_their_appointment_reads_without_one(world):
    ticket = Ticket(
        tenant_id=world.tenant_id,
        queue_id=uuid4(),
        service_id=uuid4(),
        number="A-001",
        priority=0,
        channel="kiosk",
        customer_id=None,
        issued_at=NOW,
    )
    (issued,) = ticket.collect_events()
    mapper = world.app.mapper
    stored = mapper.to_stored_event(issued)
    state = mapper.transcoder.decode(stored.state)
    state["class_version"] = 2
    del state["appointment_id"]
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(state),
    )
    assert mapper.to_domain_event(old).mutate(None).appointment_id is None


class WatchedLock:
    """The queue lock of one process, noting which queues are held at each moment."""

    def __init__(self) -> None:
        from infrastructure.postgres.queue_lock import ProcessQueueLock

        self.lock = ProcessQueueLock()
        self.held: set = set()

    @contextmanager
    def holding(self, queue_ids):
        with self.lock.holding(queue_ids):
            self.held |= set(queue_ids)
            try:
                yield
            finally:
                self.held -= set(queue_ids)


def test_a_check_in_saves_its_ticket_under_the_queue_lock_as_issuing_does(world, desk, monkeypatch):
    _, queue_id, _, _ = desk
    lock = WatchedLock()
    check_ins = CheckIns(world.app, lock)
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=5))
    held_at_save = []
    save = world.app.save_in_context
    monkeypatch.setattr(
        world.app,
        "save_in_context",
        lambda *args, **kwargs: held_at_save.append(set(lock.held)) or save(*args, **kwargs),
    )
    checked = check_ins.check_in_appointment(world.context, appointment.id)
    assert held_at_save == [{queue_id}]
    assert checked.ticket.number == "DEP-001"


def test_a_queue_paused_between_its_choice_and_its_lock_is_chosen_again(world, desk):
    _, queue_id, _, _ = desk
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=5))

    class PausingLock(WatchedLock):
        """Another writer pauses the queue just before this one has its lock, once."""

        @contextmanager
        def holding(self, queue_ids):
            if not self.paused:
                self.paused = True
                world.queues.pause_queue(world.context, queue_id)
            with super().holding(queue_ids):
                yield

    lock = PausingLock()
    lock.paused = False
    with pytest.raises(NoQueueForService):  # decided again: no open queue serves it now
        CheckIns(world.app, lock).check_in_appointment(world.context, appointment.id)
    assert world.app.find(Queue, queue_id).waiting == []
