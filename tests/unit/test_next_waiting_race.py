"""The head of a line is read in two steps (the queue, then its tickets): a ticket transferred
or called in between is not reported as this line's, so nobody is told "your turn is near" in a
queue they have left, under the stint of the queue they went to."""

from __future__ import annotations

from typing import Any

import pytest

from domain.tickets import Ticket
from tests.unit.customer_fakes import customer_world
from tests.unit.world import World


@pytest.fixture
def world() -> World:
    return customer_world()[0]


def test_a_ticket_transferred_while_the_head_is_read_is_not_in_the_head(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = world.service()
    here, there = world.queue(service), world.queue(service)
    first = world.tickets.issue_ticket(world.context, here)
    moving = world.tickets.issue_ticket(world.context, here)
    third = world.tickets.issue_ticket(world.context, here)
    store = world.tickets.store
    load = store.load
    moved: list[bool] = []

    def load_while_someone_transfers(cls: type, aggregate_id: Any, *args: Any) -> Any:
        if cls is Ticket and aggregate_id == moving.id and not moved:
            moved.append(True)  # the queue was read already; the transfer commits now
            world.tickets.transfer_ticket(world.context, moving.id, there)
        return load(cls, aggregate_id, *args)

    monkeypatch.setattr(store, "load", load_while_someone_transfers)
    head = world.tickets.get_next_waiting(world.tenant_id, here, 3)

    assert moved
    assert [ticket.id for ticket in head] == [first.id, third.id]


def test_a_ticket_called_while_the_head_is_read_is_not_in_the_head(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_id = world.queue(world.service())
    agent_id = world.agent()
    first = world.tickets.issue_ticket(world.context, queue_id)
    second = world.tickets.issue_ticket(world.context, queue_id)
    store = world.tickets.store
    load = store.load
    called: list[bool] = []

    def load_while_an_agent_calls(cls: type, aggregate_id: Any, *args: Any) -> Any:
        if cls is Ticket and aggregate_id == first.id and not called:
            called.append(True)
            world.staffing.call_next(world.context, agent_id, queue_id)
        return load(cls, aggregate_id, *args)

    monkeypatch.setattr(store, "load", load_while_an_agent_calls)
    head = world.tickets.get_next_waiting(world.tenant_id, queue_id, 3)

    assert called
    assert [ticket.id for ticket in head] == [second.id]
