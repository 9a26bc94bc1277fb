"""The AsyncAPI 3 document of SmartQueue's asynchronous contracts, generated from their msgspec
types: every event on Kafka (for analytics) and the live WebSocket protocol (for hall displays,
agent screens and the customer's "my ticket" page)."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from application.live import (
    HEARTBEAT_SECONDS,
    AgentSnapshot,
    Change,
    Heartbeat,
    PublicChange,
    PublicSnapshot,
    QueueSnapshot,
)
from infrastructure.kafka.contract import AGGREGATES, catalogue, envelope_type, topic_of
from infrastructure.kafka.relay import HEADERS
from interfaces.http.close_codes import CLOSE_CODES, PUBLIC_CLOSE_CODES

ASYNCAPI_VERSION = "3.0.0"
# 1.1: the live WebSocket protocol added; 1.2: live tickets carry eta_seconds, close code 4429
# (too many sockets for one token); 1.3: event types Ticket.MoreTimeTaken, Queue.TicketMovedBack,
# Queue.AutoNoShowSet; 1.4: the customer's ticket socket (publicTicketSocket); 1.5: optional fields
# Ticket.Issued.hours_override and Site.OpeningHoursChanged.hours_set (opening hours enforced);
# 1.6: appointments (topics smartqueue.appointment.v1, smartqueue.schedule.v1; event types
# Appointment.*, Schedule.*, Service.BookingRulesSet); 1.7: Appointment.CheckedIn,
# Appointment.MarkedNoShow (check-in into the queue); 1.8: feedback (topic smartqueue.feedback.v1,
# event type Feedback.Submitted, scores without the comment); 1.9: Appointment.Served (its
# check-in's ticket completed), optional fields Ticket.Issued.appointment_id and
# Feedback.Submitted.appointment_id; slot holds (event types Schedule.PlaceHeld,
# Schedule.HoldReleased, Schedule.HoldBooked; booking rule hold_minutes); 1.10: event type
# Queue.AppointmentPlacementSet (checked-in appointments placed by booked time or a priority
# boost) and the placement value priority_boost on Appointment.CheckedIn; all compatible
CONTRACT_VERSION = "1.10.0"
KAFKA_BINDING = "0.5.0"
WS_BINDING = "0.1.0"
LIVE_MESSAGES = {
    "queueSnapshot": QueueSnapshot,
    "agentSnapshot": AgentSnapshot,
    "change": Change,
    "heartbeat": Heartbeat,
    "publicSnapshot": PublicSnapshot,
    "publicChange": PublicChange,
}
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


def _close_codes(codes: dict[int, str]) -> str:
    return "; ".join(f"{code}: {reason}" for code, reason in codes.items())


def _socket_channel(what: str, parameter: str, snapshot: str, scope: str) -> dict[str, Any]:
    codes = _close_codes(CLOSE_CODES)
    return {
        "address": f"/ws/tenants/{{slug}}/{what}s/{{{parameter}}}/",
        "title": f"Live updates of one {what}",
        "description": (
            f"A WebSocket of any API process (scope {scope}). First message: a snapshot; then "
            f"changes, and the display gateway's heartbeat every {HEARTBEAT_SECONDS:.0f} s "
            "(silence means changes stopped: reconnect). Snapshots and changes carry as_of, the "
            "read-model position their data was read at: keep, per item, the data with the "
            f"highest as_of. Close codes: {codes}."
        ),
        "servers": [{"$ref": "#/servers/api"}],
        "parameters": {
            "slug": {"description": "the tenant's slug"},
            parameter: {"description": f"the {what}'s id (a UUID)"},
        },
        "messages": {
            name: {"$ref": f"#/components/messages/{name}"}
            for name in (snapshot, "change", "heartbeat")
        },
        "bindings": {
            "ws": {
                "query": {
                    "type": "object",
                    "properties": {
                        "ticket": {
                            "type": "string",
                            "description": "a single-use ticket from POST "
                            "/api/v1/tenants/{slug}/ws-tickets/ (browsers cannot send "
                            "Authorization on a WebSocket)",
                        }
                    },
                    "required": ["ticket"],
                },
                "bindingVersion": WS_BINDING,
            }
        },
    }


def _public_ticket_channel() -> dict[str, Any]:
    return {
        "address": "/ws/public/tickets/{token}/",
        "title": "A customer's own ticket, live",
        "description": (
            'A WebSocket of any API process, for the customer\'s "my ticket" page: no staff '
            "token and no query, the capability token in the path is the only credential. "
            "First message: a snapshot of the ticket; then the whole ticket again each time "
            "it changes (position, status, counter, its queue's waiting count), and the "
            f"display gateway's heartbeat every {HEARTBEAT_SECONDS:.0f} s. Never another "
            "ticket, nothing personal. Close codes: "
            f"{_close_codes(PUBLIC_CLOSE_CODES)}."
        ),
        "servers": [{"$ref": "#/servers/api"}],
        "parameters": {
            "token": {
                "description": "the ticket's capability token, as in its link /t/{token} "
                "(returned by POST /api/v1/public/{slug}/sites/{site_id}/join/)"
            },
        },
        "messages": {
            name: {"$ref": f"#/components/messages/{name}"}
            for name in ("publicSnapshot", "publicChange", "heartbeat")
        },
        "bindings": {"ws": {"bindingVersion": WS_BINDING}},
    }


def _live_part(references: dict[str, dict[str, str]]) -> tuple[dict, dict, dict]:
    """The WebSocket channels, their operations and messages."""
    messages = {
        name: {
            "name": name,
            "title": struct.__name__,
            "summary": (struct.__doc__ or "").strip().splitlines()[0].replace("``", ""),
            "contentType": "application/json",
            "payload": references[name],
        }
        for name, struct in LIVE_MESSAGES.items()
    }
    channels = {
        "queueSocket": _socket_channel("queue", "queue_id", "queueSnapshot", "queues:read"),
        "agentSocket": _socket_channel("agent", "agent_id", "agentSnapshot", "agents:read"),
        "publicTicketSocket": _public_ticket_channel(),
    }
    operations = {
        f"send{name[0].upper()}{name[1:]}Updates": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": "Snapshot first, then every change, within a second of the command.",
            "messages": [
                {"$ref": f"#/channels/{name}/messages/{message}"} for message in channel["messages"]
            ],
        }
        for name, channel in channels.items()
    }
    return channels, operations, messages


@cache
def asyncapi_document() -> dict[str, Any]:
    """The document served at ``/schema/asyncapi.json``."""
    event_types = sorted(catalogue().values(), key=lambda event_type: event_type.name)
    types = [envelope_type(event_type) for event_type in event_types]
    all_references, schemas = msgspec.json.schema_components(
        [*types, *LIVE_MESSAGES.values()], ref_template=REF
    )
    references = all_references[: len(types)]
    live_channels, live_operations, live_messages = _live_part(
        dict(zip(LIVE_MESSAGES, all_references[len(types) :], strict=True))
    )
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
            "servers": [{"$ref": "#/servers/kafka"}],
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
                "types; a breaking change moves an aggregate's events to a new topic (.v2). "
                "And the live WebSocket protocol of the API (queueSocket, agentSocket, "
                "publicTicketSocket): "
                "clients ignore unknown fields and message types."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "KAFKA_BOOTSTRAP_SERVERS of the deployment",
                "variables": {"bootstrap": {"default": "localhost:9092"}},
            },
            "api": {
                "host": "{host}",
                "protocol": "ws",
                "description": "any SmartQueue API process (wss behind TLS)",
                "variables": {"host": {"default": "127.0.0.1:8000"}},
            },
        },
        "channels": {**channels, **live_channels},
        "operations": {**operations, **live_operations},
        "components": {"messages": {**messages, **live_messages}, "schemas": schemas},
    }


if __name__ == "__main__":
    import json
    import sys

    json.dump(asyncapi_document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
