"""The SmartQueue application on the in-memory store, with a clock the tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from application.app import SmartQueue
from application.context import CommandContext, metadata_of
from application.tenancy import Tenancy
from domain.errors import (
    AgentBusy,
    DuplicateResource,
    InvalidInput,
    NotFound,
    QueueNotAccepting,
    TicketNotFound,
)
from domain.numbering import format_ticket_number
from tests.unit.world import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


# -- numbering -------------------------------------------------------------------------------------


def test_ticket_numbers_count_up_separately_for_each_service(world):
    queue = world.queue(a := world.service("A"), b := world.service("B"))

    numbers = [world.issue(queue, service_id=s) for s in (a, a, b, a, b)]

    assert numbers == ["A-001", "A-002", "B-001", "A-003", "B-002"]


@pytest.mark.parametrize(
    ("timezone", "first_issue", "expected"),
    [
        # 22:30, 23:30 and 00:30 UTC; Paris is UTC+1 in January, so its day turns an hour earlier.
        ("UTC", datetime(2024, 1, 15, 22, 30, tzinfo=UTC), ["A-001", "A-002", "A-001"]),
        ("Europe/Paris", datetime(2024, 1, 15, 22, 30, tzinfo=UTC), ["A-001", "A-001", "A-002"]),
        # In July Paris is UTC+2: 21:30 UTC is 23:30 there, 22:30 UTC is already tomorrow.
        ("Europe/Paris", datetime(2024, 7, 15, 21, 30, tzinfo=UTC), ["A-001", "A-001", "A-002"]),
    ],
)
def test_numbering_restarts_on_the_next_local_day_of_the_site(timezone, first_issue, expected):
    world = make_world(timezone, now=first_issue)
    queue = world.queue(world.service("A"))

    numbers = []
    for _ in expected:
        numbers.append(world.issue(queue))
        world.clock.advance(hours=1)

    assert numbers == expected


def test_ticket_numbers_are_padded_to_three_digits_and_then_simply_grow():
    assert [format_ticket_number("DEP", n) for n in (1, 42, 999, 1000)] == [
        "DEP-001",
        "DEP-042",
        "DEP-999",
        "DEP-1000",
    ]


def test_a_refused_ticket_does_not_use_up_a_number(world):
    queue = world.queue(world.service("A"))
    world.issue(queue)
    world.pause_queue(queue)

    with pytest.raises(QueueNotAccepting):
        world.issue(queue)

    world.resume_queue(queue)
    assert world.issue(queue) == "A-002"


# -- calling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("fifo", ["A-001", "A-002", "B-001"]),
        ("priority", ["A-002", "A-001", "B-001"]),
        # Deadlines: A-001 at +30 min, A-002 at +31 min, B-001 (5 min target) at +7 min.
        ("sla", ["B-001", "A-001", "A-002"]),
    ],
)
def test_call_next_calls_tickets_in_the_order_of_the_queue_policy(world, algorithm, expected):
    slow, fast = world.service("A", target_wait_minutes=30), world.service("B", 5)
    queue = world.queue(slow, fast, algorithm=algorithm)
    agent = world.agent()
    for service_id, priority in ((slow, 0), (slow, 3), (fast, 0)):
        world.issue(queue, service_id=service_id, priority=priority)
        world.clock.advance(minutes=1)

    called = []
    for _ in expected:
        ticket = world.staffing.call_next(world.context, agent, queue)
        called.append(ticket.number)
        world.tickets.start_ticket(world.context, ticket.id)
        world.tickets.close_ticket(world.context, ticket.id)

    assert called == expected
    assert world.staffing.call_next(world.context, agent, queue) is None


def test_call_next_returns_none_and_leaves_the_agent_free_when_nobody_waits(world):
    queue = world.queue(world.service("A"))
    agent = world.agent()

    assert world.staffing.call_next(world.context, agent, queue) is None
    view = world.staffing.get_agent(world.tenant_id, agent)
    assert (view.status, view.current_ticket_id) == ("available", None)


def test_a_called_ticket_is_held_by_the_agent_and_no_longer_waits(world):
    queue = world.queue(world.service("A"))
    agent = world.agent(counter="7")
    issued = world.tickets.issue_ticket(world.context, queue)

    called = world.staffing.call_next(world.context, agent, queue)

    assert called.id == issued.id
    ticket = world.tickets.get_ticket(world.tenant_id, issued.id)
    assert (ticket.status, ticket.agent_id, ticket.counter) == ("called", agent, "7")
    assert ticket.position is None
    assert world.staffing.get_agent(world.tenant_id, agent).current_ticket_id == issued.id
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 0


def test_call_next_saves_queue_ticket_and_agent_in_one_transaction(world):
    queue = world.queue(world.service("A"))
    agent = world.agent()
    world.issue(queue)
    world.app.transactions.clear()

    world.staffing.call_next(world.context, agent, queue)

    assert world.app.transactions == [{"Queue.TicketLeft", "Ticket.Called", "Agent.TicketTaken"}]


def test_a_busy_agent_cannot_call_the_next_ticket(world):
    queue = world.queue(world.service("A"))
    agent = world.agent()
    world.issue(queue)
    world.issue(queue)
    world.staffing.call_next(world.context, agent, queue)

    with pytest.raises(AgentBusy):
        world.staffing.call_next(world.context, agent, queue)
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 1


@pytest.mark.parametrize("finish", ["close", "mark_no_show", "cancel"])
def test_finishing_a_ticket_releases_the_agent(world, finish):
    queue = world.queue(world.service("A"))
    agent = world.agent()
    world.issue(queue)
    ticket = world.staffing.call_next(world.context, agent, queue)

    if finish == "close":
        world.tickets.start_ticket(world.context, ticket.id)
        world.tickets.close_ticket(world.context, ticket.id)
    elif finish == "mark_no_show":
        world.tickets.mark_no_show(world.context, ticket.id)
    else:
        world.tickets.cancel_ticket(world.context, ticket.id, "left")

    view = world.staffing.get_agent(world.tenant_id, agent)
    assert (view.status, view.current_ticket_id) == ("available", None)


def test_calling_from_the_agents_queues_picks_the_highest_priority_head(world):
    # Priority queues: a fifo queue's priority does not jump lines (test_calling_across_policies).
    first = world.queue(world.service("A"), algorithm="priority")
    second = world.queue(world.service("B"), algorithm="priority")
    agent = world.agent()
    world.staffing.assign_agent_queues(world.context, agent, [first, second])
    world.issue(first, priority=0)
    world.clock.advance(minutes=5)
    world.issue(second, priority=2)

    assert world.staffing.call_next(world.context, agent).number == "B-001"


def test_calling_from_the_agents_queues_picks_the_oldest_head_among_equals(world):
    first, second = world.queue(world.service("A")), world.queue(world.service("B"))
    agent = world.agent()
    world.staffing.assign_agent_queues(world.context, agent, [first, second])
    world.issue(second)
    world.clock.advance(minutes=1)
    world.issue(first)

    assert world.staffing.call_next(world.context, agent).number == "B-001"


def test_an_agent_without_queues_must_name_one(world):
    agent = world.agent()

    with pytest.raises(InvalidInput):
        world.staffing.call_next(world.context, agent)


# -- transfers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("placement", "position"), [("first", 1), ("sorted", 2), ("last", 3)])
def test_a_transferred_ticket_lands_where_its_placement_says(world, placement, position):
    service = world.service("A")
    source, target = world.queue(service), world.queue(service)
    world.issue(target)  # A-001, issued first
    world.clock.advance(minutes=10)
    moving = world.tickets.issue_ticket(world.context, source)
    world.clock.advance(minutes=10)
    world.issue(target)  # A-003, issued last

    moved = world.tickets.transfer_ticket(world.context, moving.id, target, placement)

    assert (moved.number, moved.status, moved.queue_id) == ("A-002", "waiting", target)
    assert moved.position == position
    assert world.queues.get_queue(world.tenant_id, source).waiting == 0
    agent = world.agent()
    calling_order = []
    for _ in range(3):
        ticket = world.staffing.call_next(world.context, agent, target)
        calling_order.append(ticket.number)
        world.tickets.cancel_ticket(world.context, ticket.id)  # frees the agent for the next call
    assert calling_order.index("A-002") == position - 1


def test_transferring_a_called_ticket_releases_the_agent_and_keeps_its_number(world):
    service = world.service("A")
    source, target = world.queue(service), world.queue(service)
    agent = world.agent()
    world.issue(source)
    called = world.staffing.call_next(world.context, agent, source)

    moved = world.tickets.transfer_ticket(world.context, called.id, target, "first")

    assert (moved.number, moved.status, moved.agent_id) == (called.number, "waiting", None)
    assert world.queues.get_queue(world.tenant_id, target).waiting == 1
    view = world.staffing.get_agent(world.tenant_id, agent)
    assert (view.status, view.current_ticket_id) == ("available", None)


def test_a_waiting_ticket_can_be_moved_to_the_front_of_its_own_queue(world):
    queue = world.queue(world.service("A"))
    world.issue(queue)
    last = world.tickets.issue_ticket(world.context, queue)

    moved = world.tickets.transfer_ticket(world.context, last.id, queue, "first")

    assert moved.position == 1
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 2


def test_transferring_into_a_paused_queue_is_refused_and_the_ticket_stays(world):
    service = world.service("A")
    source, target = world.queue(service), world.queue(service)
    ticket = world.tickets.issue_ticket(world.context, source)
    world.pause_queue(target)

    with pytest.raises(QueueNotAccepting):
        world.tickets.transfer_ticket(world.context, ticket.id, target, "last")

    assert world.tickets.get_ticket(world.tenant_id, ticket.id).queue_id == source
    assert world.queues.get_queue(world.tenant_id, source).waiting == 1


# -- queues, tenants and the audit trail -----------------------------------------------------------


def test_issuing_into_a_paused_queue_is_refused(world):
    queue = world.queue(world.service("A"))
    world.pause_queue(queue)

    with pytest.raises(QueueNotAccepting):
        world.issue(queue)
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 0


def test_a_queue_reloaded_from_a_snapshot_keeps_its_waiting_line(world):
    queue = world.queue(world.service("A"))
    count = SmartQueue.SNAPSHOT_INTERVAL + 5
    tickets = [world.tickets.issue_ticket(world.context, queue) for _ in range(count)]
    issued = [ticket.id for ticket in tickets]
    assert world.app.snapshots is not None
    assert list(world.app.snapshots.get(queue)), "no snapshot was taken"
    # The day's counter was snapshotted too, and kept counting.
    assert tickets[-1].number == f"A-{count:03d}"

    agent = world.agent()
    assert world.staffing.call_next(world.context, agent, queue).id == issued[0]
    assert world.tickets.get_ticket(world.tenant_id, issued[-1]).position == len(issued) - 1


def test_a_service_code_is_unique_within_a_tenant_but_not_across_tenants(world):
    world.service("A")

    with pytest.raises(DuplicateResource):
        world.service("A")

    assert [s.code for s in world.catalogue.list_services(world.tenant_id).items] == ["A"]
    other = make_world(app=world.app)
    assert other.catalogue.get_service(other.tenant_id, other.service("A")).code == "A"


def test_another_tenants_ticket_is_reported_as_not_found(world):
    ticket = world.tickets.issue_ticket(world.context, world.queue(world.service("A")))
    other = make_world(app=world.app)

    with pytest.raises(TicketNotFound):
        world.tickets.get_ticket(other.tenant_id, ticket.id)
    with pytest.raises(NotFound):
        world.tickets.cancel_ticket(other.context, ticket.id)
    assert world.tickets.get_ticket(world.tenant_id, ticket.id).status == "waiting"


def test_another_tenants_queue_can_be_neither_joined_nor_called(world):
    queue = world.queue(world.service("A"))
    world.issue(queue)
    other = make_world(app=world.app)

    with pytest.raises(NotFound):
        other.issue(queue)
    with pytest.raises(NotFound):
        other.staffing.call_next(other.context, other.agent(), queue)
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 1


def test_every_event_of_a_command_carries_who_asked_from_where_and_why(world):
    queue = world.queue(world.service("A"))
    agent = world.agent()
    world.issue(queue)
    actor = uuid4()
    context = CommandContext(
        tenant_id=world.tenant_id,
        actor_id=actor,
        actor_role="agent",
        client_ip="203.0.113.7",
        correlation_id="corr-42",
        causation_id="click-7",
    )

    ticket = world.staffing.call_next(context, agent, queue)

    for aggregate_id in (queue, ticket.id, agent):
        last_event = list(world.app.events.get(aggregate_id))[-1]
        assert metadata_of(last_event) == {
            "tenant_id": str(world.tenant_id),
            "actor_id": str(actor),
            "actor_role": "agent",
            "client_ip": "203.0.113.7",
            "correlation_id": "corr-42",
            "causation_id": "click-7",
        }


def test_a_command_on_an_event_store_that_would_drop_its_metadata_is_refused():
    app = SmartQueue(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})

    with pytest.raises(RuntimeError, match="cannot stamp events with metadata"):
        Tenancy(app).create_tenant(CommandContext.system(None), "acme", "Acme")

    assert app.recorder.max_notification_id() is None
