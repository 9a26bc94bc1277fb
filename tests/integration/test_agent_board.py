"""The agent board projection on real PostgreSQL: what each command shows, the samples it keeps
for the ETA, and the tenant isolation of its tables."""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import func, select, text

from application.agent_board import BoardFilter
from infrastructure.postgres.row_security import READER_ROLE
from infrastructure.postgres.tables import agent_board, agent_board_tickets, queue_eta
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.read_models.agent_board import PostgresAgentBoard
from projections.eta_evaluation import RECENT
from tests.integration.board_support import board_tables, project_board

pytestmark = pytest.mark.integration

BOARD_TABLES = (agent_board, agent_board_tickets, queue_eta)


def _row(container, world, agent_id: UUID):
    project_board(container)
    [entry] = [
        e
        for e in container.agent_board.board(world.tenant_id, BoardFilter())
        if e.agent_id == agent_id
    ]
    return entry


def test_the_board_follows_an_agent_through_status_counter_call_start_and_close(container, world):
    context = world.context
    agent_id = world.add_available_agent("Alice")
    container.staffing.assign_agent_queues(context, agent_id, [world.queue_id])
    container.staffing.set_agent_status(context, agent_id, "available", counter="7")
    entry = _row(container, world, agent_id)
    assert (entry.name, entry.status, entry.counter) == ("Alice", "available", "7")
    assert entry.ticket is None
    assert entry.queue_ids == [world.queue_id]

    issued = container.tickets.issue_ticket(context, world.queue_id)
    called = container.staffing.call_next(context, agent_id, world.queue_id)
    assert called is not None and called.id == issued.id
    entry = _row(container, world, agent_id)
    assert entry.status == "busy"
    assert entry.ticket is not None
    assert (entry.ticket.id, entry.ticket.number, entry.ticket.queue_id) == (
        issued.id,
        issued.number,
        world.queue_id,
    )
    assert (entry.ticket.status, entry.ticket.called_at) == ("called", called.called_at)

    container.tickets.recall_ticket(context, issued.id)
    started = container.tickets.start_ticket(context, issued.id)
    entry = _row(container, world, agent_id)
    assert entry.ticket is not None
    assert (entry.ticket.status, entry.ticket.called_at) == ("serving", called.called_at)

    closed = container.tickets.close_ticket(context, issued.id)
    entry = _row(container, world, agent_id)
    assert (entry.status, entry.ticket, entry.served_today) == ("available", None, 1)

    samples = {row["queue_id"]: row for row in board_tables(container.read_engine)["queue_eta"]}
    queue = samples[world.queue_id]
    assert queue["occupancy_seconds"] == [(closed.finished_at - called.called_at).total_seconds()]
    assert queue["service_seconds"] == [
        (closed.finished_at - started.service_started_at).total_seconds()
    ]
    live = board_tables(container.read_engine)["agent_board_tickets"]
    assert issued.id not in {row["ticket_id"] for row in live}  # finished tickets are forgotten


def test_a_transfer_or_a_no_show_frees_the_agent_and_only_the_no_show_leaves_a_hold(
    container, world
):
    context = world.context
    agent_id = world.add_available_agent()
    other_queue = world.open_queue()
    first = container.tickets.issue_ticket(context, world.queue_id)
    second = container.tickets.issue_ticket(context, world.queue_id)
    container.staffing.call_next(context, agent_id, world.queue_id)
    container.tickets.transfer_ticket(context, first.id, other_queue)
    entry = _row(container, world, agent_id)
    assert (entry.status, entry.ticket) == ("available", None)

    container.staffing.call_next(context, agent_id, world.queue_id)
    assert _row(container, world, agent_id).ticket.id == second.id
    container.tickets.mark_no_show(context, second.id)
    entry = _row(container, world, agent_id)
    assert (entry.status, entry.ticket, entry.served_today) == ("available", None, 0)
    samples = {row["queue_id"]: row for row in board_tables(container.read_engine)["queue_eta"]}
    assert len(samples[world.queue_id]["occupancy_seconds"]) == 1
    assert samples[world.queue_id]["service_seconds"] == []
    assert samples[other_queue]["occupancy_seconds"] == []


def test_a_queue_keeps_only_its_latest_samples(container, world):
    context = world.context
    agent_id = world.add_available_agent()
    for _ in range(RECENT + 3):
        ticket = container.tickets.issue_ticket(context, world.queue_id)
        container.staffing.call_next(context, agent_id, world.queue_id)
        container.tickets.start_ticket(context, ticket.id)
        container.tickets.close_ticket(context, ticket.id)
    project_board(container, batch_size=7)
    samples = {row["queue_id"]: row for row in board_tables(container.read_engine)["queue_eta"]}
    assert len(samples[world.queue_id]["occupancy_seconds"]) == RECENT
    assert len(samples[world.queue_id]["service_seconds"]) == RECENT
    assert _row(container, world, agent_id).served_today == RECENT + 3


def test_filters_and_order_of_the_board(container, world):
    context = world.context
    other_queue = world.open_queue()
    names = {"Zoe": "10", "Yann": "2", "Xavier": None, "Walt": "2"}
    ids = {}
    for name, counter in names.items():
        ids[name] = world.add_available_agent(name)
        container.staffing.set_agent_status(context, ids[name], "available", counter=counter)
    container.staffing.assign_agent_queues(context, ids["Zoe"], [world.queue_id])
    container.staffing.assign_agent_queues(context, ids["Yann"], [other_queue])
    container.staffing.set_agent_status(context, ids["Walt"], "paused")
    project_board(container)
    board = container.agent_board
    everyone = board.board(world.tenant_id, BoardFilter())
    assert [e.name for e in everyone] == ["Walt", "Yann", "Zoe", "Xavier"]
    assert [e.name for e in board.board(world.tenant_id, BoardFilter(status="paused"))] == ["Walt"]
    by_queue = board.board(world.tenant_id, BoardFilter(queue_id=other_queue))
    assert [e.name for e in by_queue] == ["Yann"]
    by_site = board.board(world.tenant_id, BoardFilter(site_id=world.site_id))
    assert [e.name for e in by_site] == ["Yann", "Zoe"]
    assert board.board(world.tenant_id, BoardFilter(site_id=world.queue_id)) == []


def test_the_board_tables_have_forced_security_and_the_reader_sees_one_tenant(container, world):
    world.add_available_agent()
    container.tickets.issue_ticket(world.context, world.queue_id)
    project_board(container)
    with container.read_engine.connect() as connection:
        secured = dict(
            connection.execute(
                text(
                    "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                    "WHERE relname = ANY(:names)"
                ),
                {"names": [table.name for table in BOARD_TABLES]},
            ).all()
        )
    assert secured == {table.name: True for table in BOARD_TABLES}
    for table in BOARD_TABLES:
        with tenant_transaction(container.read_engine, world.tenant_id) as connection:
            tenants = set(connection.execute(select(table.c.tenant_id).distinct()).scalars())
        assert tenants == {world.tenant_id}, table.name
        with container.read_engine.begin() as connection:
            connection.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
            assert connection.execute(select(func.count()).select_from(table)).scalar() == 0


def test_another_tenants_board_is_empty_for_this_tenant(container, world):
    world.add_available_agent()
    project_board(container)
    stranger = UUID(int=world.tenant_id.int ^ 1)
    assert PostgresAgentBoard(container.read_engine).board(stranger, BoardFilter()) == []
