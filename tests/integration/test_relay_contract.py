"""What the relay publishes honours the contract: each message validates against its event
type's schema, sits on its aggregate's topic under its aggregate's key with headers matching the
envelope, and no personal data leaves the system."""

from __future__ import annotations

import jsonschema_rs
import msgspec
import pytest

from application.context import CommandContext
from domain.agents import Agent
from infrastructure.kafka.contract import catalogue, json_schemas
from tests.integration.conftest import on_own_broker, on_own_database
from tests.integration.kafka_support import (
    consume,
    log_positions_between,
    relay_in_thread_until,
)

pytestmark = pytest.mark.integration

# Relays of their own: not the session database's (the e2e live fan-out runs one there).
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

SECRET_NAME = "Zéphyrine Quillard-Personal"
SECRET_EMAIL = "zephyrine.quillard@personal.example"
SECRET_PHONE = "+33612345678"
SECRET_REASON = "Zéphyrine had to leave"


def a_day_of_everything(world) -> None:
    """Commands that emit most event types, with personal data wherever the API takes it."""
    identity, app, context = world.container.identity, world.container, world.context
    customer = app.customers.register_customer(
        context, SECRET_NAME, phone=SECRET_PHONE, email=SECRET_EMAIL
    )
    user = identity.create_user(context, SECRET_EMAIL, "password1", SECRET_NAME, "agent")
    identity.change_user(context, user.id, name=SECRET_NAME + " Jr")
    agent_id = Agent.create_id(user.id)
    app.staffing.set_agent_status(context, agent_id, "available", counter="7")
    other_queue = world.open_queue()
    first = app.tickets.issue_ticket(context, world.queue_id, customer_id=customer.id)
    second = app.tickets.issue_ticket(context, world.queue_id)
    third = app.tickets.issue_ticket(context, world.queue_id)
    called = app.staffing.call_next(context, agent_id, world.queue_id)
    assert called is not None and called.id == first.id
    app.tickets.recall_ticket(context, first.id)
    app.tickets.start_ticket(context, first.id)
    app.tickets.pause_ticket(context, first.id)
    app.tickets.resume_ticket(context, first.id)
    app.tickets.close_ticket(context, first.id)
    app.tickets.transfer_ticket(context, second.id, other_queue)
    app.tickets.cancel_ticket(context, third.id, SECRET_REASON)
    app.customers.erase_customer(context, customer.id)
    app.queues.pause_queue(context, world.queue_id)
    app.queues.resume_queue(context, world.queue_id)


def test_every_published_envelope_validates_against_its_schema(container, world, kafka_bootstrap):
    start = container.app.recorder.max_notification_id() or 0
    a_day_of_everything(world)
    end = container.app.recorder.max_notification_id() or 0

    relay_in_thread_until(container, kafka_bootstrap, end)

    expected = log_positions_between(container, start, end)
    received = {
        int(message.headers["log_position"]): message
        for message in consume(kafka_bootstrap, expected)
        if start < int(message.headers["log_position"]) <= end
    }
    assert set(received) == expected

    schemas = json_schemas()
    validators = {name: jsonschema_rs.validator_for(schema) for name, schema in schemas.items()}
    types_seen = set()
    for position, message in received.items():
        envelope = message.envelope
        event_type = catalogue()[envelope["event_type"]]
        validators[event_type.name].validate(envelope)
        types_seen.add(event_type.name)
        assert message.topic == event_type.topic
        assert message.key == envelope["aggregate_id"]
        assert envelope["log_position"] == position
        assert envelope["event_id"] == f"{envelope['aggregate_id']}:{envelope['aggregate_version']}"
        assert message.headers["event_id"] == envelope["event_id"]
        assert message.headers["event_type"] == envelope["event_type"]
        assert message.headers["schema_version"] == str(envelope["schema_version"])
        assert message.headers["tenant_id"] == str(world.tenant_id)
        assert envelope["tenant_id"] == str(world.tenant_id)
        text = message.value.decode()
        for secret in (SECRET_NAME, SECRET_EMAIL, SECRET_PHONE, SECRET_REASON, "Zéphyrine"):
            assert secret not in text, f"{event_type.name} carries personal data"
    # The day above touched most of the catalogue, people included.
    for name in (
        "Customer.Registered",
        "Customer.Erased",
        "StaffUser.Registered",
        "StaffUser.Renamed",
        "Agent.Registered",
        "Ticket.Cancelled",
        "Ticket.Transferred",
        "Queue.Paused",
    ):
        assert name in types_seen
    assert len(types_seen) >= 20


def test_the_actor_and_correlation_of_a_command_travel_with_its_events(
    container, world, kafka_bootstrap
):
    actor = world.add_available_agent()
    context = msgspec.structs.replace(
        CommandContext.system(world.tenant_id), actor_id=actor, actor_role="agent"
    )
    start = container.app.recorder.max_notification_id() or 0
    container.tickets.issue_ticket(context, world.queue_id)
    end = container.app.recorder.max_notification_id() or 0
    relay_in_thread_until(container, kafka_bootstrap, end)
    expected = log_positions_between(container, start, end)
    envelopes = [
        message.envelope
        for message in consume(kafka_bootstrap, expected)
        if start < int(message.headers["log_position"]) <= end
    ]
    assert envelopes
    for envelope in envelopes:
        assert envelope["actor"] == {"id": str(actor), "role": "agent"}
        assert envelope["correlation_id"] == context.correlation_id
