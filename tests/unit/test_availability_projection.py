"""The availability projection turns Schedule events into one row per schedule whose taken
counts equal the aggregate's, whatever the sequence of takes and frees (hypothesis)."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.booking import HoldExpired, SlotFull
from domain.schedule import Schedule, slot_key
from projections.availability import AvailabilityProjection, ScheduleChange, ScheduleDay

TENANT, SITE, SERVICE = uuid4(), uuid4(), uuid4()
BASE = datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
STARTS = [BASE + timedelta(minutes=15 * n) for n in range(4)]


class MemoryView:
    """The rows as a dict, changed as the PostgreSQL view changes them."""

    def __init__(self) -> None:
        self.rows: dict[UUID, ScheduleDay] = {}

    def add_schedule(self, row: ScheduleDay) -> None:
        self.rows[row.schedule_id] = row

    def change_schedule(self, schedule_id: UUID, change: ScheduleChange) -> None:
        if schedule_id in self.rows:
            self.rows[schedule_id] = change(self.rows[schedule_id])


def project(view: MemoryView, schedule: Schedule) -> None:
    projection = AvailabilityProjection()
    for position, event in enumerate(schedule.collect_events(), start=1):
        projection.handle(event, position, view)


def new_schedule(day: str = "2027-03-28") -> Schedule:
    return Schedule(tenant_id=TENANT, site_id=SITE, service_id=SERVICE, day=day, code_prefix="A")


def test_opening_a_schedule_adds_an_empty_row_naming_its_site_service_and_day():
    view = MemoryView()
    schedule = new_schedule()
    project(view, schedule)
    row = view.rows[schedule.id]
    assert (row.tenant_id, row.site_id, row.service_id) == (TENANT, SITE, SERVICE)
    assert row.day == date(2027, 3, 28) and row.taken == {} and row.places == {}


def test_taking_and_freeing_places_counts_them_per_slot():
    view = MemoryView()
    schedule = new_schedule()
    first, second, third = uuid4(), uuid4(), uuid4()
    for appointment in (first, second):
        schedule.take(appointment, STARTS[0], 3, None, 1)
    schedule.take(third, STARTS[1], 3, None, 1)
    project(view, schedule)
    assert view.rows[schedule.id].taken == {slot_key(STARTS[0]): 2, slot_key(STARTS[1]): 1}

    schedule.release(first, cancelled=True)
    schedule.release(third, cancelled=False)
    project(view, schedule)
    assert view.rows[schedule.id].taken == {slot_key(STARTS[0]): 1}
    assert view.rows[schedule.id].places == {str(second): slot_key(STARTS[0])}


def test_events_of_a_schedule_never_opened_here_change_nothing():
    view = MemoryView()
    schedule = new_schedule()
    schedule.collect_events()  # its opening was before this log began
    schedule.take(uuid4(), STARTS[0], 3, None, 1)
    project(view, schedule)
    assert view.rows == {}


operations = st.lists(
    st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, len(STARTS) - 1)), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(operations, st.integers(1, 10))
def test_the_rows_equal_the_aggregates_taken_counts_after_any_sequence(operations, flush_every):
    view = MemoryView()
    schedule = new_schedule()
    appointments = [uuid4() for _ in range(6)]
    for step, (take, who, slot) in enumerate(operations, start=1):
        appointment = appointments[who]
        if take and str(appointment) not in schedule.bookings:
            with suppress(SlotFull):  # the aggregate refuses: no event
                schedule.take(appointment, STARTS[slot], 2, None, 10)
        elif not take:
            schedule.release(appointment, cancelled=bool(slot % 2))
        if step % flush_every == 0:
            project(view, schedule)
    project(view, schedule)
    row = view.rows[schedule.id]
    assert row.taken == schedule.taken_by_slot()
    assert row.places == {key: str(b["start"]) for key, b in schedule.bookings.items()}


HOLD_EXPIRES = BASE + timedelta(hours=1)


def test_a_hold_counts_until_released_and_moves_to_its_booking_without_a_double_count():
    view = MemoryView()
    schedule = new_schedule()
    kept, dropped, appointment = uuid4(), uuid4(), uuid4()
    schedule.hold(kept, STARTS[0], 3, BASE, HOLD_EXPIRES)
    schedule.hold(dropped, STARTS[0], 3, BASE, HOLD_EXPIRES)
    project(view, schedule)
    assert view.rows[schedule.id].taken == {slot_key(STARTS[0]): 2}

    schedule.release_hold(dropped, expired=True)
    schedule.book_hold(kept, appointment, None, 1, BASE)
    project(view, schedule)
    row = view.rows[schedule.id]
    assert row.taken == {slot_key(STARTS[0]): 1} == schedule.taken_by_slot()
    assert row.places == {str(appointment): slot_key(STARTS[0])}


hold_operations = st.lists(
    st.tuples(st.sampled_from(["hold", "book", "release"]), st.integers(0, 5), st.integers(0, 3)),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(hold_operations, st.integers(1, 10))
def test_the_rows_equal_the_aggregates_counts_with_holds_after_any_sequence(
    operations, flush_every
):
    view = MemoryView()
    schedule = new_schedule()
    holds = [uuid4() for _ in range(6)]
    for step, (action, which, slot) in enumerate(operations, start=1):
        hold_id = holds[which]
        with suppress(SlotFull, HoldExpired):  # the aggregate refuses: no event
            if action == "hold" and str(hold_id) not in schedule.holds:
                schedule.hold(hold_id, STARTS[slot], 2, BASE, HOLD_EXPIRES)
            elif action == "book":
                schedule.book_hold(hold_id, uuid4(), None, 10, BASE)
            elif action == "release":
                schedule.release_hold(hold_id, expired=bool(slot % 2))
        if step % flush_every == 0:
            project(view, schedule)
    project(view, schedule)
    row = view.rows[schedule.id]
    assert row.taken == schedule.taken_by_slot()
