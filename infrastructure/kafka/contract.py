"""The event contract: what SmartQueue publishes to Kafka for downstream consumers.

Topics: one per aggregate type, ``smartqueue.<aggregate>.v<major>`` (``smartqueue.ticket.v1``),
keyed by aggregate id, so every event of one aggregate lands in one partition, in order. A
consumer subscribes to the aggregates it cares about, and a breaking change to one aggregate's
events moves that aggregate alone to a new topic.

Each message's value is an :class:`Envelope` in JSON; its ``data`` is the event type's own
struct, derived here from the domain event's fields minus what must not leave the system:
personal data (names and emails of people, free-text reasons) and internal fields.

Versioning: ``schema_version`` (per event type) counts contract changes of that type. Adding an
optional field or a new event type is compatible: the version goes up, the topic stays, and
consumers must ignore fields and event types they do not know. Removing or renaming a field,
changing its type or meaning is breaking: the aggregate's topic moves to ``.v<major + 1>``.
``tests/unit/test_event_contract.py`` pins the schemas, so no change goes unnoticed.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain import (
    agents,
    appointments,
    customers,
    devices,
    feedback,
    numbering,
    platform,
    queues,
    schedule,
    tenancy,
    tickets,
)
from domain.ownership import tenant_of

TOPIC_PREFIX = "smartqueue"
TOPIC_MAJOR = 1
AGGREGATES: tuple[type[Aggregate], ...] = (
    tickets.Ticket,
    queues.Queue,
    agents.Agent,
    customers.Customer,
    devices.Device,
    tenancy.Tenant,
    tenancy.Site,
    tenancy.Service,
    tenancy.StaffUser,
    numbering.DailyCounter,
    platform.Platform,
    appointments.Appointment,
    schedule.Schedule,
    feedback.Feedback,
)
# Stored on events, never published: the library's own bookkeeping.
INTERNAL_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)
# Personal data stays in the system (erasable there); the contract carries ids instead.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "Agent.Registered": frozenset({"name"}),
    "Agent.Renamed": frozenset({"name"}),
    "StaffUser.Registered": frozenset({"email", "name"}),
    "StaffUser.Renamed": frozenset({"name"}),
    "Ticket.Cancelled": frozenset({"reason"}),  # free text typed by staff
}
# Raised with each change to an event type's published fields (see the module docstring).
SCHEMA_VERSIONS: dict[str, int] = {
    "Site.OpeningHoursChanged": 2,  # + hours_set: a week of closed days may now be set
    "Ticket.Issued": 2,  # + hours_override: staff issued it while the site was closed
}
DEFAULT_SCHEMA_VERSION = 1
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

D = TypeVar("D")


class Actor(msgspec.Struct, frozen=True):
    """Who caused the event: a staff user, a device or the system (both null)."""

    id: UUID | None
    role: str | None


class Envelope(msgspec.Struct, Generic[D], frozen=True, kw_only=True):
    """One published event. ``event_id`` is stable across re-sends: de-duplicate by it."""

    event_id: str
    """``{aggregate_id}:{aggregate_version}``, the audit log's event id."""
    event_type: str
    """``Aggregate.Event``, e.g. ``Ticket.Called``."""
    schema_version: int
    tenant_id: UUID | None
    """Null only for platform events."""
    aggregate_type: str
    aggregate_id: UUID
    aggregate_version: int
    log_position: int
    """The event's position in SmartQueue's log; increases with commit order."""
    occurred_at: datetime
    actor: Actor
    correlation_id: str | None
    causation_id: str | None
    data: D


@dataclass(frozen=True)
class EventType:
    """One published event type: its domain class, topic and data struct."""

    name: str
    aggregate: str
    event_class: type
    data: type[msgspec.Struct]
    fields: tuple[str, ...]

    @property
    def topic(self) -> str:
        return topic_of(self.aggregate)

    @property
    def schema_version(self) -> int:
        return SCHEMA_VERSIONS.get(self.name, DEFAULT_SCHEMA_VERSION)


def topic_of(aggregate: str) -> str:
    """The topic of an aggregate type's events."""
    return f"{TOPIC_PREFIX}.{_snake(aggregate)}.v{TOPIC_MAJOR}"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _event_classes(aggregate: type[Aggregate]) -> Iterator[type]:
    """The event classes an aggregate emits: its nested events, less the bases (``Event``, and
    ``Created`` where ``__init__`` names another created event such as ``Registered``)."""
    nested = [
        cls
        for cls in vars(aggregate).values()
        if inspect.isclass(cls) and issubclass(cls, Aggregate.Event) and cls is not aggregate.Event
    ]
    created = [cls for cls in nested if issubclass(cls, Aggregate.Created)]
    for cls in nested:
        if cls.__name__ == "Created" and len(created) > 1:
            continue
        yield cls


@cache
def catalogue() -> dict[str, EventType]:
    """Every published event type, by name (``Ticket.Called``)."""
    found: dict[str, EventType] = {}
    for aggregate in AGGREGATES:
        for cls in _event_classes(aggregate):
            name = f"{aggregate.__name__}.{cls.__name__}"
            hidden = INTERNAL_FIELDS | PERSONAL_FIELDS.get(name, frozenset())
            hints = typing.get_type_hints(cls)
            fields = [
                (field, hint)
                for field, hint in hints.items()
                if field not in hidden and typing.get_origin(hint) is not typing.ClassVar
            ]
            data = msgspec.defstruct(
                f"{aggregate.__name__}{cls.__name__}", fields, frozen=True, kw_only=True
            )
            found[name] = EventType(
                name, aggregate.__name__, cls, data, tuple(field for field, _ in fields)
            )
    return found


def topics() -> list[str]:
    """Every topic the relay publishes to."""
    return sorted({topic_of(aggregate.__name__) for aggregate in AGGREGATES})


def _uuid(value: Any) -> UUID | None:
    return UUID(str(value)) if value else None


def envelope_of(event: Any, position: int) -> tuple[EventType, Envelope[Any]]:
    """The published form of a domain event read at ``position`` of the log."""
    event_type = catalogue()[type(event).__qualname__]
    metadata = dict(getattr(event, "metadata", None) or {})
    data = event_type.data(**{field: getattr(event, field) for field in event_type.fields})
    return event_type, Envelope(
        event_id=f"{event.originator_id}:{event.originator_version}",
        event_type=event_type.name,
        schema_version=event_type.schema_version,
        tenant_id=tenant_of(event, metadata),
        aggregate_type=event_type.aggregate,
        aggregate_id=event.originator_id,
        aggregate_version=event.originator_version,
        log_position=position,
        occurred_at=event.timestamp,
        actor=Actor(_uuid(metadata.get("actor_id")), metadata.get("actor_role")),
        correlation_id=metadata.get("correlation_id"),
        causation_id=metadata.get("causation_id"),
        data=data,
    )


def json_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of ``event_type``'s envelope, generated from the msgspec types."""
    (reference,), definitions = msgspec.json.schema_components(
        [envelope_type(event_type)], ref_template="#/$defs/{name}"
    )
    return {"$schema": JSON_SCHEMA_DIALECT, **reference, "$defs": definitions}


def envelope_type(event_type: EventType) -> Any:
    """``Envelope[data]`` of one event type, its fixed fields constant."""
    return _pinned(event_type)


@cache
def _pinned(event_type: EventType) -> Any:
    # Literal types make the schema say which event type, aggregate and version this is.
    return msgspec.defstruct(
        f"{event_type.data.__name__}Envelope",
        [
            ("event_type", typing.Literal[event_type.name]),  # type: ignore[valid-type]
            ("schema_version", typing.Literal[event_type.schema_version]),  # type: ignore[valid-type]
            ("aggregate_type", typing.Literal[event_type.aggregate]),  # type: ignore[valid-type]
            ("data", event_type.data),
        ],
        bases=(Envelope,),
        frozen=True,
        kw_only=True,
    )


def json_schemas() -> dict[str, dict[str, Any]]:
    """A JSON Schema per event type, by event type name."""
    return {name: json_schema(event_type) for name, event_type in sorted(catalogue().items())}
