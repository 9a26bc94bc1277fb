"""The tickets read model on real PostgreSQL: every waiting ticket's position equals the write
model's ``Queue.position_of``, and every ticket reads as the write model answers, whatever the
history of issues, calls, transfers (first, last, sorted), cancellations, "more time" requests,
priorities and policy changes over fifo, priority and sla queues."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from application.paging import PageRequest
from application.ticket_queries import TicketFilter
from domain.errors import TicketNotFound
from tests.integration.ticket_history import HISTORY, Floor, tickets_runner

pytestmark = pytest.mark.integration


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=HISTORY)
def test_read_model_positions_equal_the_queues_own_positions(container, steps):
    floor = Floor.open(container)

    def project(batch_size: int) -> None:
        tickets_runner(container, batch_size=batch_size).catch_up(container.read_engine)

    floor.play(steps, project)
    project(1000)

    expected = floor.write_model_positions()
    for ticket_id in floor.tickets:
        read = container.ticket_queries.get_ticket(floor.tenant_id, ticket_id)
        assert read.position == expected.get(ticket_id), (ticket_id, read.status)
        assert msgspec.structs.replace(read, eta_seconds=None) == floor.written(ticket_id)

    listed = container.ticket_queries.list_tickets(
        floor.tenant_id, TicketFilter(statuses=frozenset({"waiting"})), PageRequest(limit=200)
    )
    assert {ticket.id: ticket.position for ticket in listed.items} == expected


def test_a_ticket_of_another_tenant_is_not_found(container):
    ours, theirs = Floor.open(container), Floor.open(container)
    ours.play([("issue", 0, 0, 0)], lambda _: None)
    tickets_runner(container).catch_up(container.read_engine)
    ticket_id = ours.tickets[0]

    assert container.ticket_queries.get_ticket(ours.tenant_id, ticket_id).position == 1
    with pytest.raises(TicketNotFound):
        container.ticket_queries.get_ticket(theirs.tenant_id, ticket_id)
    page = container.ticket_queries.list_tickets(theirs.tenant_id, TicketFilter())
    assert page.items == []


def test_positions_survive_the_queue_renumbering_its_line(container):
    floor = Floor.open(container)
    context = floor.context
    fifo, other = floor.queue_ids[0], floor.queue_ids[1]
    gone = container.tickets.issue_ticket(context, fifo).id  # so that ``first`` has rank 1, not 0
    first = container.tickets.issue_ticket(context, fifo).id
    container.tickets.cancel_ticket(context, gone)
    between = [container.tickets.issue_ticket(context, other).id for _ in range(60)]
    last = container.tickets.issue_ticket(context, fifo).id
    # Each transfer placed by issue time lands between ``first`` and the previous one, halving
    # the gap of ranks above 1 until floats run out and the queue renumbers its line.
    for ticket_id in reversed(between):
        container.tickets.transfer_ticket(context, ticket_id, fifo, "sorted")
    tickets_runner(container, batch_size=50).catch_up(container.read_engine)

    renumbered = [
        event
        for event in map(
            container.app.mapper.to_domain_event, container.app.recorder.select_events(fifo)
        )
        if type(event).__name__ == "Renumbered"
    ]
    assert renumbered
    expected = floor.write_model_positions()
    assert [expected[t] for t in (first, *between, last)] == list(range(1, 63))
    for ticket_id in (first, *between, last):
        assert (
            container.ticket_queries.get_ticket(floor.tenant_id, ticket_id).position
            == expected[ticket_id]
        )
