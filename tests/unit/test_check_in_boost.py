"""A queue's appointment placement: on-time check-ins placed by their booked time (the default)
or boosted with the queue's appointment priority, through the application, in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from application import tickets as ticket_commands
from application.appointments import Appointments
from application.check_in import CheckIns
from domain.errors import InvalidInput
from domain.policies import Policy, order_waiting
from domain.queues import MAX_PRIORITY, Queue
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
    """A service with room for several appointments and its queue under the priority algorithm."""
    service_id = world.service("DEP")
    world.catalogue.change_service(world.context, service_id, booking={"capacity": 5})
    queue_id = world.queue(service_id, algorithm="priority")
    return service_id, queue_id


def at(world, moment: datetime) -> None:
    world.clock.now = moment.astimezone(UTC)


def book(world, desk):
    return Appointments(world.app).book_appointment(world.context, world.site_id, desk[0], TEN)


def line(world, queue_id) -> list[str]:
    """The waiting tickets' numbers in the order the queue's policy calls them."""
    queue = world.app.find(Queue, queue_id)
    ordered = order_waiting(queue.waiting, world.clock(), Policy(queue.policy))
    return [world.app.find(Ticket, entry.ticket_id).number for entry in ordered]


def boost(world, queue_id, priority: int = 5):
    return world.queues.reconfigure_queue(
        world.context,
        queue_id,
        appointment_placement="priority",
        appointment_priority=priority,
    )


def test_a_boosted_check_in_goes_ahead_of_earlier_walk_ins_and_records_why(world, desk):
    _, queue_id = desk
    detail = boost(world, queue_id, priority=3)
    assert (detail.appointment_placement, detail.appointment_priority) == ("priority", 3)
    assert world.app.transactions[-1] == {"Queue.AppointmentPlacementSet"}
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=20))
    walk_ins = [world.issue(queue_id), world.issue(queue_id)]
    urgent = world.issue(queue_id, priority=7)  # staff's higher priority still goes first
    at(world, TEN - timedelta(minutes=5))
    checked = CheckIns(world.app).check_in_appointment(world.context, appointment.id)

    assert checked.placement == "priority_boost"
    assert checked.appointment.status == "checked_in"
    assert checked.ticket.priority == 3 and checked.ticket.position == 2
    assert line(world, queue_id) == [urgent, checked.ticket.number, *walk_ins]
    stored = Appointments(world.app).get_appointment(world.tenant_id, appointment.id)
    assert (stored.placement, stored.ticket_id) == ("priority_boost", checked.ticket.id)


def test_by_booked_time_the_same_arrivals_keep_todays_order(world, desk):
    _, queue_id = desk
    appointment = book(world, desk)
    at(world, TEN - timedelta(minutes=20))
    walk_ins = [world.issue(queue_id), world.issue(queue_id)]
    at(world, TEN - timedelta(minutes=5))
    checked = CheckIns(world.app).check_in_appointment(world.context, appointment.id)

    assert checked.placement == "booked_time" and checked.ticket.priority == 0
    assert line(world, queue_id) == [*walk_ins, checked.ticket.number]


def test_a_late_arrival_at_a_boosting_queue_is_a_plain_walk_in(world, desk):
    _, queue_id = desk
    boost(world, queue_id)
    appointment = book(world, desk)
    at(world, TEN + timedelta(minutes=5))
    first = world.issue(queue_id)
    at(world, TEN + timedelta(minutes=11))
    checked = CheckIns(world.app).check_in_appointment(world.context, appointment.id)

    assert checked.placement == "walk_in" and checked.ticket.priority == 0
    assert line(world, queue_id) == [first, checked.ticket.number]


def test_back_to_booked_time_clears_the_boost(world, desk):
    _, queue_id = desk
    boost(world, queue_id, priority=4)
    kept = world.queues.reconfigure_queue(world.context, queue_id, appointment_priority=6)
    assert (kept.appointment_placement, kept.appointment_priority) == ("priority", 6)
    cleared = world.queues.reconfigure_queue(
        world.context, queue_id, appointment_placement="booked_time"
    )
    assert (cleared.appointment_placement, cleared.appointment_priority) == ("booked_time", None)
    appointment = book(world, desk)
    at(world, TEN)
    checked = CheckIns(world.app).check_in_appointment(world.context, appointment.id)
    assert checked.placement == "booked_time"


@pytest.mark.parametrize(
    ("algorithm", "settings", "detail"),
    [
        ("fifo", {"appointment_placement": "priority", "appointment_priority": 5}, "'fifo'"),
        ("sla", {"appointment_placement": "priority", "appointment_priority": 5}, "'sla'"),
        ("priority", {"appointment_placement": "priority"}, "needs an appointment_priority"),
        ("priority", {"appointment_priority": 5}, "applies only with appointment_placement"),
        ("priority", {"appointment_placement": "priority", "appointment_priority": 0}, "1 to"),
        (
            "priority",
            {"appointment_placement": "priority", "appointment_priority": MAX_PRIORITY + 1},
            "1 to",
        ),
        ("priority", {"appointment_placement": "first"}, "unknown appointment_placement"),
    ],
)
def test_a_setting_the_queue_cannot_follow_is_refused_and_changes_nothing(
    world, algorithm, settings, detail
):
    queue_id = world.queue(world.service("X"), algorithm=algorithm)
    with pytest.raises(InvalidInput, match=detail):
        world.queues.reconfigure_queue(world.context, queue_id, **settings)
    queue = world.app.find(Queue, queue_id)
    assert (queue.appointment_placement, queue.appointment_priority) == ("booked_time", None)


def test_a_boosting_queue_leaves_the_priority_algorithm_only_without_its_boost(world, desk):
    _, queue_id = desk
    boost(world, queue_id)
    with pytest.raises(InvalidInput, match="set appointment_placement to 'booked_time'"):
        world.queues.reconfigure_queue(world.context, queue_id, algorithm="fifo")
    both = world.queues.reconfigure_queue(
        world.context, queue_id, algorithm="fifo", appointment_placement="booked_time"
    )
    assert (both.algorithm, both.appointment_placement) == ("fifo", "booked_time")
    back = world.queues.reconfigure_queue(
        world.context,
        queue_id,
        algorithm="priority",
        appointment_placement="priority",
        appointment_priority=2,
    )
    assert (back.algorithm, back.appointment_priority) == ("priority", 2)


def test_the_same_setting_again_records_nothing(world, desk):
    _, queue_id = desk
    boost(world, queue_id)
    before = world.app.find(Queue, queue_id).version
    boost(world, queue_id)
    assert world.app.find(Queue, queue_id).version == before


def test_the_boost_stays_within_the_priorities_tickets_are_issued_with():
    assert MAX_PRIORITY == ticket_commands.MAX_PRIORITY
