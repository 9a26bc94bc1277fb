"""The staff's notification use cases on an in-memory application and a fake outbox: which
free messages are planned, and which requests are refused and why."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from application.notifications import NotificationFacts, PlannedMessage
from application.paging import Page, PageRequest
from application.staff_notifications import (
    NoContactForMessage,
    NotificationFilter,
    Notifications,
    NotificationView,
)
from domain.delivery import DeliveryStatus
from domain.errors import InvalidInput, TicketNotFound
from domain.messages import Channel, MessageKind
from tests.unit.customer_fakes import customer_world
from tests.unit.world import World


class RecordingOutbox:
    """Keeps what would be recorded and queued."""

    def __init__(self) -> None:
        self.sent: list[tuple[PlannedMessage, UUID, dict[str, object]]] = []

    def search(
        self, tenant_id: UUID, where: NotificationFilter, request: PageRequest
    ) -> Page[NotificationView]:
        return Page([], None)

    def record_and_queue(
        self,
        tenant_id: UUID,
        planned: PlannedMessage,
        ticket_id: UUID,
        customer_id: UUID,
        values: dict[str, object],
        now: datetime,
    ) -> None:
        self.sent.append((planned, ticket_id, values))


@pytest.fixture
def world() -> World:
    return customer_world()[0]


def desk(world: World) -> tuple[Notifications, RecordingOutbox]:
    outbox = RecordingOutbox()
    facts = NotificationFacts(world.tickets, world.queues, world.catalogue, world.customers)
    return Notifications(facts, outbox, clock=world.clock), outbox


QUEUES: dict[UUID, UUID] = {}


def ticket_for(world: World, **customer: object) -> UUID:
    """A ticket in the tenant's queue, for a new customer registered with ``customer``."""
    if world.tenant_id not in QUEUES:
        QUEUES[world.tenant_id] = world.queue(world.service())
    queue = QUEUES[world.tenant_id]
    customer_id = None
    if customer:
        customer_id = world.customers.register_customer(world.context, "Ada", **customer).id  # type: ignore[arg-type]
    return world.tickets.issue_ticket(world.context, queue, customer_id=customer_id).id


def test_a_free_message_goes_to_each_chosen_channel_with_the_words_as_a_value(world):
    notifications, outbox = desk(world)
    ticket_id = ticket_for(
        world, email="ada@example.com", phone="+33612345678", channels=["email", "sms"]
    )

    sent = notifications.send_free_text(world.tenant_id, ticket_id, "  Bring {number}  ")

    assert {planned.channel for planned, _, _ in outbox.sent} == {Channel.EMAIL, Channel.SMS}
    assert {planned.kind for planned, _, _ in outbox.sent} == {MessageKind.FREE_TEXT}
    assert sent.message_ids == tuple(planned.message_id for planned, _, _ in outbox.sent)
    assert all(values["message"] == "Bring {number}" for _, _, values in outbox.sent)
    assert {ticket for _, ticket, _ in outbox.sent} == {ticket_id}


def test_the_same_words_sent_twice_are_two_messages(world):
    notifications, _ = desk(world)
    ticket_id = ticket_for(world, email="ada@example.com", channels=["email"])

    first = notifications.send_free_text(world.tenant_id, ticket_id, "hello")
    second = notifications.send_free_text(world.tenant_id, ticket_id, "hello")

    assert set(first.message_ids).isdisjoint(second.message_ids)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), ("   \n", "empty"), ("x" * 1001, "longer"), ("a\x00b", "control")],
)
def test_a_free_message_refuses_bad_text(world, text, reason):
    notifications, outbox = desk(world)
    ticket_id = ticket_for(world, email="ada@example.com", channels=["email"])

    with pytest.raises(InvalidInput, match=reason):
        notifications.send_free_text(world.tenant_id, ticket_id, text)
    assert outbox.sent == []


def test_a_free_message_needs_a_ticket_and_a_reachable_customer(world):
    notifications, outbox = desk(world)

    with pytest.raises(TicketNotFound):
        notifications.send_free_text(world.tenant_id, uuid4(), "hello")
    with pytest.raises(NoContactForMessage, match="no customer"):
        notifications.send_free_text(world.tenant_id, ticket_for(world), "hello")
    no_channel = ticket_for(world, email="ada@example.com")
    with pytest.raises(NoContactForMessage, match="no chosen channel"):
        notifications.send_free_text(world.tenant_id, no_channel, "hello")
    assert outbox.sent == []


def test_a_free_message_in_the_customers_quiet_hours_is_refused_not_held(world):
    notifications, outbox = desk(world)
    local = world.clock().astimezone(ZoneInfo("Europe/Paris"))
    quiet = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    ticket_id = ticket_for(world, email="ada@example.com", channels=["email"], quiet_hours=quiet)

    with pytest.raises(NoContactForMessage, match="quiet hours"):
        notifications.send_free_text(world.tenant_id, ticket_id, "hello")
    assert outbox.sent == []


def test_the_ledger_filter_names_a_bad_status_or_channel():
    assert NotificationFilter.parse(None, "dead", "sms") == NotificationFilter(
        status=DeliveryStatus.DEAD, channel=Channel.SMS
    )
    with pytest.raises(InvalidInput, match="status 'lost'"):
        NotificationFilter.parse(None, "lost", None)
    with pytest.raises(InvalidInput, match="channel 'pigeon'"):
        NotificationFilter.parse(None, None, "pigeon")


def test_the_ledger_filter_takes_an_appointment_and_a_kind_and_names_a_bad_kind():
    appointment_id = uuid4()
    assert NotificationFilter.parse(
        None, None, None, appointment_id, "appointment_reminder"
    ) == NotificationFilter(appointment_id=appointment_id, kind=MessageKind.APPOINTMENT_REMINDER)
    with pytest.raises(InvalidInput, match="kind 'postcard'"):
        NotificationFilter.parse(None, None, None, None, "postcard")
