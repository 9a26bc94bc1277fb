"""The application on a real PostgreSQL: a ticket goes from issue to completion."""

from __future__ import annotations

import pytest

from application.context import metadata_of

pytestmark = pytest.mark.integration


def test_a_ticket_goes_from_issue_to_completion_on_postgres(world):
    agent_id = world.add_available_agent()
    issued = world.container.tickets.issue_ticket(world.context, world.queue_id)
    called = world.container.staffing.call_next(world.context, agent_id, world.queue_id)
    assert called is not None and called.id == issued.id and called.status == "called"
    assert world.container.tickets.start_ticket(world.context, called.id).status == "serving"
    assert world.container.tickets.close_ticket(world.context, called.id).status == "completed"
    assert world.container.staffing.get_agent(world.tenant_id, agent_id).current_ticket_id is None


def test_every_stored_event_carries_the_commands_metadata(world):
    ticket = world.container.tickets.issue_ticket(world.context, world.queue_id)
    events = list(world.container.app.events.get(ticket.id))
    assert [type(event).__name__ for event in events] == ["Issued"]
    metadata = metadata_of(events[0])
    assert metadata["tenant_id"] == str(world.tenant_id)
    assert metadata["actor_role"] == "system"
    assert metadata["causation_id"] == "test"
    assert metadata["correlation_id"]
