"""Managing resources: pausing, resuming, closing and reconfiguring queues; changing sites and
services; and listing any of them page by page."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from application.paging import PageRequest
from domain.agents import Agent
from domain.errors import InvalidInput, QueueError, QueueNotAccepting, ResourceNotFound
from tests.unit.world import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


def on_duty_agent(world: World) -> Agent:
    return world.app.repository.get(world.agent())


# -- queue state -----------------------------------------------------------------------------------


def test_a_paused_queue_refuses_new_tickets_but_its_line_can_still_be_called(world):
    queue = world.queue(world.service("A"))
    world.issue(queue)

    assert world.queues.pause_queue(world.context, queue).status == "paused"

    with pytest.raises(QueueNotAccepting, match="queue 'Queue' is paused and takes no tickets"):
        world.issue(queue)
    agent = on_duty_agent(world)
    assert world.staffing.call_next(world.context, agent.id, queue).number == "A-001"


def test_a_resumed_queue_takes_tickets_again_and_numbering_continues(world):
    queue = world.queue(world.service("A"))
    world.issue(queue)
    world.queues.pause_queue(world.context, queue)

    assert world.queues.resume_queue(world.context, queue).status == "open"

    assert world.issue(queue) == "A-002"


def test_a_paused_queue_refuses_transfers_into_it(world):
    service = world.service("A")
    source, target = world.queue(service), world.queue(service)
    ticket = world.tickets.issue_ticket(world.context, source)
    world.queues.pause_queue(world.context, target)

    with pytest.raises(QueueNotAccepting, match="paused"):
        world.tickets.transfer_ticket(world.context, ticket.id, target)

    assert world.tickets.get_ticket(world.tenant_id, ticket.id).queue_id == source


def test_a_queue_cannot_close_while_tickets_wait_and_once_closed_takes_nothing(world):
    queue = world.queue(world.service("A"))
    ticket = world.tickets.issue_ticket(world.context, queue)

    with pytest.raises(QueueError, match="1 tickets still wait in this queue"):
        world.queues.close_queue(world.context, queue)

    world.tickets.cancel_ticket(world.context, ticket.id)
    assert world.queues.close_queue(world.context, queue).status == "closed"
    with pytest.raises(QueueNotAccepting, match="is closed and takes no tickets"):
        world.issue(queue)


@pytest.mark.parametrize(
    ("steps", "refused", "message"),
    [
        ([], "resume_queue", "only a paused queue can be resumed; this one is open"),
        (["pause_queue"], "pause_queue", "only an open queue can be paused; this one is paused"),
        (["close_queue"], "resume_queue", "only a paused queue can be resumed; this one is closed"),
        (["close_queue"], "close_queue", "already closed"),
    ],
)
def test_a_state_change_that_makes_no_sense_is_a_conflict(world, steps, refused, message):
    queue = world.queue(world.service("A"))
    for step in steps:
        getattr(world.queues, step)(world.context, queue)

    with pytest.raises(QueueError, match=message):
        getattr(world.queues, refused)(world.context, queue)


# -- queue definition ------------------------------------------------------------------------------


def test_a_queue_is_renamed_given_services_and_a_new_algorithm_in_one_event(world):
    first, second = world.service("A"), world.service("B")
    queue = world.queue(first)

    view = world.queues.reconfigure_queue(
        world.context, queue, name=" Front desk ", service_ids=[second, first], algorithm="sla"
    )

    assert (view.name, view.service_ids, view.algorithm) == ("Front desk", [second, first], "sla")
    assert world.app.transactions[-1] == {"Queue.Reconfigured"}
    assert world.issue(queue) == "B-001"  # the first service is the default for new tickets


def test_reconfiguring_to_the_same_definition_records_nothing(world):
    queue = world.queue(world.service("A"))
    before = len(world.app.transactions)

    world.queues.reconfigure_queue(world.context, queue)
    world.queues.reconfigure_queue(world.context, queue, name="Queue", algorithm="fifo")

    assert all(not events for events in world.app.transactions[before:])


def test_a_queue_cannot_serve_another_tenants_service_or_an_unknown_algorithm(world):
    queue = world.queue(world.service("A"))
    other = make_world(app=world.app)
    foreign = other.service("Z")

    with pytest.raises(ResourceNotFound):
        world.queues.reconfigure_queue(world.context, queue, service_ids=[foreign])
    with pytest.raises(InvalidInput, match="unknown algorithm 'lifo'"):
        world.queues.reconfigure_queue(world.context, queue, algorithm="lifo")
    with pytest.raises(InvalidInput, match="lists a service twice"):
        world.queues.reconfigure_queue(world.context, queue, service_ids=[foreign, foreign])

    assert world.queues.get_queue(world.tenant_id, queue).algorithm == "fifo"


def test_a_closed_queue_cannot_be_reconfigured(world):
    queue = world.queue(world.service("A"))
    world.queues.close_queue(world.context, queue)

    with pytest.raises(QueueError, match="a closed queue cannot be reconfigured"):
        world.queues.reconfigure_queue(world.context, queue, name="Reborn")


# -- sites and services ----------------------------------------------------------------------------


def test_a_site_in_a_new_time_zone_moves_its_queues_daily_numbering_with_it():
    # 23:30 UTC on the 15th is already the 16th in Paris, still the 15th in New York.
    world = make_world("Europe/Paris", now=datetime(2024, 1, 15, 23, 30, tzinfo=UTC))
    queue = world.queue(world.service("A"))
    assert world.issue(queue) == "A-001"
    assert world.issue(queue) == "A-002"

    site = world.catalogue.change_site(world.context, world.site_id, timezone="America/New_York")

    assert site.timezone == "America/New_York"
    assert world.app.transactions[-1] == {"Site.TimezoneChanged", "Queue.TimezoneChanged"}
    assert world.issue(queue) == "A-001"  # a new local day at the site


def test_a_site_is_renamed_and_given_hours_and_an_unknown_zone_changes_nothing(world):
    hours = {"monday": [{"open": "09:00", "close": "17:00"}]}

    view = world.catalogue.change_site(
        world.context, world.site_id, name="Harbour", opening_hours=hours, closed_dates=[]
    )
    with pytest.raises(InvalidInput, match="unknown time zone 'Mars/Base'"):
        world.catalogue.change_site(world.context, world.site_id, name="Lost", timezone="Mars/Base")

    assert world.catalogue.get_site(world.tenant_id, world.site_id) == view
    assert view.name == "Harbour"
    assert [(i.open, i.close) for i in view.opening_hours["monday"]] == [("09:00", "17:00")]


def test_a_service_is_renamed_and_retargeted_but_keeps_its_code(world):
    service = world.service("A", target_wait_minutes=10)

    view = world.catalogue.change_service(
        world.context, service, name="Accounts", code="A", expected_service_minutes=12
    )

    assert (view.name, view.code, view.target_wait_minutes, view.expected_service_minutes) == (
        "Accounts",
        "A",
        10,
        12,
    )
    with pytest.raises(InvalidInput, match="a service code cannot change"):
        world.catalogue.change_service(world.context, service, code="B", name="Billing")
    with pytest.raises(InvalidInput, match="target_wait_minutes must be between 1 and 1440"):
        world.catalogue.change_service(world.context, service, target_wait_minutes=0)
    assert world.catalogue.get_service(world.tenant_id, service) == view


# -- lists -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["sites", "services", "queues", "users", "agents"])
def test_walking_a_list_two_at_a_time_yields_every_item_once_in_creation_order(world, resource):
    service = world.service("A")  # with the world's own site: 5 sites and 5 services
    world.queue(service)
    world.user("agent")
    for index in range(4):
        world.catalogue.add_site(world.context, f"Site {index}", "UTC")
        world.service("BCDE"[index])
        world.queue(service)
        world.user("agent")
    owner = {
        "sites": world.catalogue,
        "services": world.catalogue,
        "queues": world.queues,
        "users": world.tenancy,
        "agents": world.staffing,
    }[resource]
    everything = getattr(owner, f"list_{resource}")(world.tenant_id).items

    seen, cursor, pages = [], None, 0
    while True:
        page = getattr(owner, f"list_{resource}")(world.tenant_id, PageRequest(cursor, 2))
        seen.extend(item.id for item in page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert len(everything) == 5
    assert seen == [item.id for item in everything]
    assert pages == 3


def test_a_cursor_from_nowhere_is_refused(world):
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        world.catalogue.list_sites(world.tenant_id, PageRequest(cursor=str(uuid4())))
