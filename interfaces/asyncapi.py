"""The AsyncAPI 3 document of the event contract, generated from its msgspec types."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from infrastructure.event_contract import AGGREGATES, catalogue, envelope_type, topic_of
from infrastructure.relay import HEADERS

ASYNCAPI_VERSION = "3.0.0"
CONTRACT_VERSION = "1.0.0"
KAFKA_BINDING = "0.5.0"
REF = "#/components/schemas/{name}"
HEADER_DESCRIPTIONS = {
    "event_id": "{aggregate_id}:{aggregate_version}; de-duplicate by it",
    "event_type": "Aggregate.Event, e.g. Ticket.Called",
    "schema_version": "the event type's schema version",
    "tenant_id": "the tenant's id; empty for platform events",
    "log_position": "position in SmartQueue's event log",
    "content_type": "application/json",
}


def _headers_schema() -> dict[str, Any]:
    names = [*HEADERS, "content_type"]
    return {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": HEADER_DESCRIPTIONS[name]} for name in names
        },
        "required": names,
    }


@cache
def asyncapi_document() -> dict[str, Any]:
    """The document served at ``/schema/asyncapi.json``."""
    event_types = sorted(catalogue().values(), key=lambda event_type: event_type.name)
    types = [envelope_type(event_type) for event_type in event_types]
    references, schemas = msgspec.json.schema_components(types, ref_template=REF)
    headers = _headers_schema()
    messages = {
        event_type.name: {
            "name": event_type.name,
            "title": event_type.name,
            "contentType": "application/json",
            "headers": headers,
            "payload": reference,
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "format": "uuid", "description": "aggregate id"},
                    "bindingVersion": KAFKA_BINDING,
                }
            },
            "x-schema-version": event_type.schema_version,
        }
        for event_type, reference in zip(event_types, references, strict=True)
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for aggregate in AGGREGATES:
        name = aggregate.__name__
        channel_id = name[0].lower() + name[1:]
        owned = [event_type.name for event_type in event_types if event_type.aggregate == name]
        channels[channel_id] = {
            "address": topic_of(name),
            "title": f"{name} events",
            "description": f"Every {name} event, keyed by the {name}'s id: all events of "
            "one aggregate share a partition, in order.",
            "messages": {
                message: {"$ref": f"#/components/messages/{message}"} for message in owned
            },
            "bindings": {"kafka": {"topic": topic_of(name), "bindingVersion": KAFKA_BINDING}},
        }
        operations[f"publish{name}Events"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"The relay publishes every {name} event once at least, in order.",
            "messages": [
                {"$ref": f"#/channels/{channel_id}/messages/{message}"} for message in owned
            ],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "SmartQueue events",
            "version": CONTRACT_VERSION,
            "description": (
                "Every event of SmartQueue's log, published by the relay to Kafka. At least "
                "once: de-duplicate by event_id. Consumers ignore unknown fields and event "
                "types; a breaking change moves an aggregate's events to a new topic (.v2)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "KAFKA_BOOTSTRAP_SERVERS of the deployment",
                "variables": {"bootstrap": {"default": "localhost:9092"}},
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


if __name__ == "__main__":
    import json
    import sys

    json.dump(asyncapi_document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
