"""The published event contract: every domain event type has a schema and an AsyncAPI message,
no schema carries personal data, and the contract changes only on purpose."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from eventsourcing.domain import Aggregate

import domain
from infrastructure.kafka.contract import catalogue, json_schemas, topic_of
from interfaces.asyncapi import asyncapi_document

PINNED = Path(__file__).parents[2] / "docs" / "asyncapi.json"
PERSONAL = {
    "email",
    "phone",
    "phone_e164",
    "client_ip",
    "password",
    "comment",
    "metadata",
    "push_token",
}
PEOPLE = {"Agent", "StaffUser", "Customer"}  # aggregates of persons: no "name" either


def domain_event_types() -> set[str]:
    """Every event class of every aggregate in ``domain``, found by walking the package (not
    the contract's own list), less bases that are never emitted."""
    found = set()
    for module_info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{module_info.name}")
        for aggregate in vars(module).values():
            if not (
                inspect.isclass(aggregate)
                and issubclass(aggregate, Aggregate)
                and aggregate.__module__ == module.__name__
            ):
                continue
            events = [
                cls
                for cls in vars(aggregate).values()
                if inspect.isclass(cls)
                and issubclass(cls, Aggregate.Event)
                and cls is not aggregate.Event
            ]
            emitted_created = [c for c in events if issubclass(c, Aggregate.Created)]
            for cls in events:
                if cls.__name__ == "Created" and len(emitted_created) > 1:
                    continue  # __init__ records another created event (Registered, ...)
                found.add(f"{aggregate.__name__}.{cls.__name__}")
    return found


def test_every_event_type_of_the_domain_has_a_schema_and_an_asyncapi_message():
    expected = domain_event_types()
    assert "Ticket.Called" in expected and "Customer.Erased" in expected
    assert set(json_schemas()) == expected
    document = asyncapi_document()
    live = {"queueSnapshot", "agentSnapshot", "change", "heartbeat"}
    live |= {"publicSnapshot", "publicChange"}
    assert set(document["components"]["messages"]) == expected | live
    in_channels = {
        name for channel in _kafka_channels(document).values() for name in channel["messages"]
    }
    assert in_channels == expected


def _kafka_channels(document: dict[str, Any]) -> dict[str, Any]:
    """The document's Kafka topics (the others are the API's WebSockets)."""
    channels = document["channels"]
    kafka = {name: channel for name, channel in channels.items() if "kafka" in channel["bindings"]}
    assert set(channels) - set(kafka) == {"queueSocket", "agentSocket", "publicTicketSocket"}
    assert all(channel["servers"] == [{"$ref": "#/servers/kafka"}] for channel in kafka.values())
    return kafka


def test_each_aggregate_has_its_own_versioned_topic_carrying_only_its_events():
    document = asyncapi_document()
    for channel in _kafka_channels(document).values():
        for name in channel["messages"]:
            aggregate = name.split(".")[0]
            assert channel["address"] == topic_of(aggregate)
            assert channel["address"].startswith("smartqueue.")
            assert channel["address"].endswith(".v1")
    assert topic_of("DailyCounter") == "smartqueue.daily_counter.v1"


def _resolve(document: dict[str, Any], reference: str) -> Any:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def test_the_asyncapi_document_is_version_3_and_every_reference_resolves():
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    references = _references(document)
    assert len(references) > 100
    for reference in references:
        assert reference.startswith("#/")
        _resolve(document, reference)  # raises KeyError if it does not resolve
    for operation in document["operations"].values():
        assert operation["action"] == "send"


def test_no_schema_carries_personal_data():
    for name, schema in json_schemas().items():
        data = schema["$defs"][catalogue()[name].data.__name__]
        fields = set(data.get("properties", {}))
        assert not fields & PERSONAL, name
        if name.split(".")[0] in PEOPLE:
            assert "name" not in fields, name
        envelope = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
        assert not set(envelope["properties"]) & PERSONAL
    # Free text typed by staff may name someone: a cancellation's reason stays inside.
    assert "reason" not in catalogue()["Ticket.Cancelled"].fields


def test_a_schema_refuses_an_envelope_of_another_type_or_missing_fields():
    schema = json_schemas()["Ticket.Called"]
    envelope = {
        "event_id": "8d3c1c38-92a7-4a8b-8b44-1a2f5f0e2b11:3",
        "event_type": "Ticket.Called",
        "schema_version": 1,
        "tenant_id": "0b8f1f8e-5d0c-4c39-9bb0-3c1f6c7d9e10",
        "aggregate_type": "Ticket",
        "aggregate_id": "8d3c1c38-92a7-4a8b-8b44-1a2f5f0e2b11",
        "aggregate_version": 3,
        "log_position": 42,
        "occurred_at": "2026-11-28T09:00:00Z",
        "actor": {"id": None, "role": None},
        "correlation_id": None,
        "causation_id": None,
        "data": {
            "agent_id": "6c1f6c7d-9e10-4c39-9bb0-3c1f6c7d9e10",
            "counter": "3",
            "at": "2026-11-28T09:00:00Z",
        },
    }
    jsonschema_rs.validate(schema, envelope)
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate(schema, {**envelope, "event_type": "Ticket.Issued"})
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate(schema, {**envelope, "data": {"counter": "3"}})


def test_the_contract_changes_only_on_purpose():
    """``docs/asyncapi.json`` is the published contract. If this fails, the generated contract
    changed: follow the versioning rules (docs/events.md), then regenerate it with
    ``python -m interfaces.asyncapi > docs/asyncapi.json``."""
    pinned = json.loads(PINNED.read_text())
    assert asyncapi_document() == pinned


def _live_validator(document: dict[str, Any], message: str) -> jsonschema_rs.Validator:
    payload = document["components"]["messages"][message]["payload"]
    return jsonschema_rs.validator_for({**payload, "components": document["components"]})


def test_the_live_websocket_protocol_is_in_the_document_and_its_schemas_hold():
    from datetime import UTC, datetime
    from uuid import uuid4

    import msgspec

    from application.live import Change, Heartbeat, LiveTicket, QueueSnapshot, QueueSummary

    document = asyncapi_document()
    queue_socket = document["channels"]["queueSocket"]
    assert queue_socket["address"] == "/ws/tenants/{slug}/queues/{queue_id}/"
    assert document["channels"]["agentSocket"]["address"] == "/ws/tenants/{slug}/agents/{agent_id}/"
    assert queue_socket["servers"] == [{"$ref": "#/servers/api"}]
    assert document["servers"]["api"]["protocol"] == "ws"
    assert queue_socket["bindings"]["ws"]["query"]["required"] == ["ticket"]
    assert set(queue_socket["messages"]) == {"queueSnapshot", "change", "heartbeat"}
    assert "4401" in queue_socket["description"] and "4404" in queue_socket["description"]

    queue_id = uuid4()
    ticket = LiveTicket(
        id=uuid4(),
        number="A-001",
        status="called",
        queue_id=queue_id,
        counter="3",
        called_at=datetime.now(UTC),
        position=None,
    )
    summary = QueueSummary(id=queue_id, waiting=1, next=["A-002"])
    messages = {
        "queueSnapshot": QueueSnapshot(as_of=7, queue=summary, tickets=[ticket]),
        "change": Change(as_of=8, position=8, event="Ticket.Called", queue=summary, ticket=ticket),
        "heartbeat": Heartbeat(at=datetime.now(UTC), position=8),
    }
    for name, message in messages.items():
        validator = _live_validator(document, name)
        encoded = json.loads(msgspec.json.encode(message))
        validator.validate(encoded)
        assert not validator.is_valid({**encoded, "type": "something else"})
    change = json.loads(msgspec.json.encode(messages["change"]))
    assert not _live_validator(document, "change").is_valid({**change, "as_of": "8"})
    snapshot = json.loads(msgspec.json.encode(messages["queueSnapshot"]))
    del snapshot["tickets"][0]["number"]
    assert not _live_validator(document, "queueSnapshot").is_valid(snapshot)


def test_the_public_ticket_socket_closes_only_with_the_codes_the_document_lists():
    from interfaces.http import close_codes
    from interfaces.http.controllers import public_live

    source = inspect.getsource(public_live)
    used = {
        value
        for name, value in vars(close_codes).items()
        if isinstance(value, int) and re.search(rf"\b{name}\b", source)
    }
    assert used == set(close_codes.PUBLIC_CLOSE_CODES)
    description = asyncapi_document()["channels"]["publicTicketSocket"]["description"]
    for code, meaning in close_codes.PUBLIC_CLOSE_CODES.items():
        assert f"{code}: {meaning}" in description
