"""Auto no-show: a queue's delay is a setting with its own event, and the system's no-show of a
call refuses a ticket that moved on (started, finished, recalled) so a late or repeated job
changes nothing."""

from __future__ import annotations

import pytest

from application.context import CommandContext
from domain.errors import CallSuperseded, IllegalTransition, InvalidInput, QueueError
from domain.queues import Queue
from tests.unit.world import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


def called(world: World, queue_id):
    agent_id = world.agent()
    world.tickets.issue_ticket(world.context, queue_id)
    ticket = world.staffing.call_next(world.context, agent_id, queue_id)
    return agent_id, world.tickets.get_ticket(world.tenant_id, ticket.id)


def system(world: World) -> CommandContext:
    return CommandContext(tenant_id=world.tenant_id, actor_role="system")


def test_a_queue_has_no_auto_no_show_until_a_manager_sets_one(world):
    queue_id = world.queue(world.service())
    assert world.queues.get_queue(world.tenant_id, queue_id).auto_no_show_minutes is None

    view = world.queues.reconfigure_queue(world.context, queue_id, auto_no_show_minutes=5)
    assert view.auto_no_show_minutes == 5
    # Leaving it out keeps it; None turns it off.
    kept = world.queues.reconfigure_queue(world.context, queue_id, name="Renamed")
    assert kept.auto_no_show_minutes == 5
    off = world.queues.reconfigure_queue(world.context, queue_id, auto_no_show_minutes=None)
    assert off.auto_no_show_minutes is None


def test_setting_the_same_delay_again_records_nothing(world):
    queue_id = world.queue(world.service())
    world.queues.reconfigure_queue(world.context, queue_id, auto_no_show_minutes=5)
    version = world.app.repository.get(queue_id).version
    world.queues.reconfigure_queue(world.context, queue_id, auto_no_show_minutes=5)
    assert world.app.repository.get(queue_id).version == version


@pytest.mark.parametrize("minutes", [0, -1, 24 * 60 + 1])
def test_a_delay_out_of_range_is_refused_naming_the_setting(world, minutes):
    queue_id = world.queue(world.service())
    with pytest.raises(InvalidInput, match="auto_no_show_minutes"):
        world.queues.reconfigure_queue(world.context, queue_id, auto_no_show_minutes=minutes)


def test_a_closed_queue_takes_no_delay(world):
    queue_id = world.queue(world.service())
    world.queues.close_queue(world.context, queue_id)
    with pytest.raises(QueueError):
        world.queues.reconfigure_queue(world.context, queue_id, auto_no_show_minutes=5)


def test_a_queue_saved_before_the_setting_existed_reads_none():
    queue = Queue.__new__(Queue)  # as an old snapshot restores one: no attribute of its own
    assert queue.auto_no_show_minutes is None


def test_an_unanswered_call_expires_into_a_no_show_by_the_system_and_frees_the_agent(world):
    queue_id = world.queue(world.service())
    agent_id, ticket = called(world, queue_id)
    world.clock.advance(minutes=5)

    expired = world.tickets.expire_call(system(world), ticket.id, ticket.called_at)

    assert expired.status == "no_show"
    assert world.staffing.get_agent(world.tenant_id, agent_id).current_ticket_id is None
    last = list(world.app.events.get(ticket.id))[-1]
    assert type(last).__qualname__ == "Ticket.MarkedNoShow"
    assert last.metadata["actor_role"] == "system"
    assert last.metadata["actor_id"] is None


def test_expiring_the_same_call_twice_is_a_conflict_and_changes_nothing(world):
    _, ticket = called(world, world.queue(world.service()))
    world.tickets.expire_call(system(world), ticket.id, ticket.called_at)
    version = world.app.repository.get(ticket.id).version

    with pytest.raises(IllegalTransition):
        world.tickets.expire_call(system(world), ticket.id, ticket.called_at)
    assert world.app.repository.get(ticket.id).version == version


def test_a_started_ticket_is_not_expired(world):
    _, ticket = called(world, world.queue(world.service()))
    world.tickets.start_ticket(world.context, ticket.id)
    with pytest.raises(IllegalTransition):
        world.tickets.expire_call(system(world), ticket.id, ticket.called_at)
    assert world.tickets.get_ticket(world.tenant_id, ticket.id).status == "serving"


def test_a_recall_supersedes_the_earlier_call(world):
    _, ticket = called(world, world.queue(world.service()))
    world.clock.advance(minutes=2)
    world.tickets.recall_ticket(world.context, ticket.id)

    with pytest.raises(CallSuperseded):
        world.tickets.expire_call(system(world), ticket.id, ticket.called_at)
    recalled = world.tickets.get_ticket(world.tenant_id, ticket.id)
    assert recalled.status == "called"
    assert world.tickets.expire_call(system(world), ticket.id, recalled.called_at).status == (
        "no_show"
    )
