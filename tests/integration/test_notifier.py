"""The notifier end to end: a ticket's events go through the relay to the embedded Kafka broker,
the notifier records the customer's messages in the ledger and queues them on dramatiq (real
Redis), and a jobs worker sends them to a real SMTP server, once, even when the notifier reads
the same events again after a restart."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dramatiq
import pytest

from application.notifications import NotificationFacts
from application.paging import PageRequest
from domain.delivery import DeliveryStatus
from infrastructure.container import Container
from infrastructure.kafka.client import FAST_GROUP
from infrastructure.notify.email import SmtpChannel
from infrastructure.notify.jobs import DeliveryJobs, delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.notifier import TOPIC, Notifier
from infrastructure.settings import load_settings
from tests.integration.conftest import TenantWorld
from tests.integration.kafka_support import relay_in_thread_until
from tests.provider_servers import SmtpServer

pytestmark = pytest.mark.integration


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class Running:
    """A notifier in a thread of its own, stopped by :meth:`stop` (as a process is)."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.halt = threading.Event()
        self.thread = threading.Thread(target=notifier.run, args=(self.halt,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.halt.set()
        self.thread.join(30)


@dataclasses.dataclass
class Stack:
    container: Container
    bootstrap: str
    ledger: PostgresLedger
    jobs: DeliveryJobs
    smtp: SmtpServer
    group: str

    def notifier(self) -> Running:
        settings = load_settings({"SMARTQUEUE_NOTIFIER_GROUP": self.group}).notify
        kafka = dataclasses.replace(self.container.settings.kafka, bootstrap_servers=self.bootstrap)
        facts = NotificationFacts(
            self.container.tickets,
            self.container.queues,
            self.container.catalogue,
            self.container.customers,
        )
        notifier = Notifier(
            facts,
            self.ledger,
            self.jobs,
            kafka,
            settings,
            with_eta=self.container.ticket_queries.with_eta,
        )
        return Running(notifier)

    def relay(self) -> None:
        position = self.container.app.recorder.max_notification_id() or 0
        relay_in_thread_until(self.container, self.bootstrap, position)


@pytest.fixture
def stack(container: Container, kafka_bootstrap: str, redis_url: str) -> Iterator[Stack]:
    notify = load_settings(
        {"SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.05", "SMARTQUEUE_NOTIFY_MAX_ATTEMPTS": "3"}
    ).notify
    broker = delivery_broker(redis_url, notify, namespace=f"test-{uuid.uuid4().hex[:8]}")
    ledger = PostgresLedger(container.pool)
    with SmtpServer() as smtp:
        email = SmtpChannel(
            "127.0.0.1", smtp.port, sender="Town hall <queue@example.org>", security="none"
        )
        jobs = DeliveryJobs(broker, ledger, {"email": email})
        worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
        worker.start()
        try:
            yield Stack(
                container, kafka_bootstrap, ledger, jobs, smtp, f"notifier-{uuid.uuid4().hex[:8]}"
            )
        finally:
            worker.stop()
            broker.close()


def rewind(bootstrap: str, group: str, offsets: dict) -> None:
    """Move ``group``'s committed offsets back to ``offsets`` (as an operator resetting it)."""
    from kafka import KafkaConsumer
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, **FAST_GROUP)
    try:
        consumer.assign(list(offsets))
        consumer.commit({tp: OffsetAndMetadata(at, "", -1) for tp, at in offsets.items()})
    finally:
        consumer.close(autocommit=False)


def ends(bootstrap: str) -> dict:
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        return {tp: int(at) for tp, at in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def called_at_counter(world: TenantWorld, counter: str) -> uuid.UUID:
    agent_id = world.add_available_agent()
    world.container.staffing.set_agent_status(world.context, agent_id, "available", counter=counter)
    return agent_id


def test_a_called_customer_gets_please_go_to_counter_once_even_after_a_restart(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    stack.relay()  # the topics exist and hold the session's earlier events
    before = ends(stack.bootstrap)
    running = stack.notifier()
    eventually(lambda: bool(running.notifier.pinned))
    customer = app.customers.register_customer(
        world.context,
        "Jeanne Martin",
        email="jeanne.martin@example.org",
        channels=["email"],
        language="en",
    )
    agent_id = called_at_counter(world, "3")
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()
    # Issued first in line: the number, and at once "your turn is near".
    eventually(lambda: len(stack.smtp.delivered) == 2)
    assert app.staffing.call_next(world.context, agent_id, world.queue_id).id == ticket.id

    stack.relay()

    eventually(lambda: len(stack.smtp.delivered) == 3)
    running.stop()
    by_subject = {d.message["Subject"]: d for d in stack.smtp.delivered}
    called = by_subject[f"{ticket.number}: it's your turn, counter 3"]
    assert called.rcpt_tos == ["jeanne.martin@example.org"]
    text = called.message.get_body(("plain",)).get_content()
    assert "Please go to counter 3" in text
    issued = by_subject[f"Your ticket {ticket.number}"]
    assert (
        f"Your number is {ticket.number} (Main). Position 1"
        in issued.message.get_body(("plain",)).get_content()
    )
    assert f"{ticket.number}: your turn is near" in by_subject

    # The notifier restarts and its group reads the same events again.
    rewind(stack.bootstrap, stack.group, before)
    again = stack.notifier()
    eventually(lambda: again.notifier.handled >= 2)
    time.sleep(1.0)  # time for any job the second reading queued
    again.stop()

    assert again.notifier.recorded == 0
    assert len(stack.smtp.delivered) == 3
    entries = stack.ledger.search(world.tenant_id, PageRequest(), ticket_id=ticket.id).items
    assert sorted(e.delivery.kind.value for e in entries) == [
        "called",
        "ticket_issued",
        "turn_near",
    ]
    assert {(e.delivery.status, e.delivery.attempts) for e in entries} == {(DeliveryStatus.SENT, 1)}


def test_nothing_is_sent_during_the_customers_quiet_hours_or_without_a_chosen_channel(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    local = datetime.now(ZoneInfo("Europe/Paris"))
    quiet = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    sleeping = app.customers.register_customer(
        world.context, "Night owl", email="owl@example.org", channels=["email"], quiet_hours=quiet
    )
    unsubscribed = app.customers.register_customer(
        world.context, "Quiet", email="quiet@example.org"
    )
    subscribed = app.customers.register_customer(
        world.context, "Keen", email="keen@example.org", channels=["email"], language="fr"
    )
    stack.relay()
    running = stack.notifier()
    eventually(lambda: bool(running.notifier.pinned))
    for customer in (sleeping, unsubscribed, subscribed):
        app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)

    stack.relay()

    eventually(lambda: len(stack.smtp.delivered) == 2)  # the number, and "turn near" (third)
    time.sleep(1.0)
    running.stop()
    assert {tuple(d.rcpt_tos) for d in stack.smtp.delivered} == {("keen@example.org",)}
    bodies = [d.message.get_body(("plain",)).get_content() for d in stack.smtp.delivered]
    assert any("Votre numéro est" in body for body in bodies)


def test_erasing_a_customer_erases_their_address_and_messages_from_the_ledger(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    customer = app.customers.register_customer(
        world.context, "Leaving", email="leaving@example.org", channels=["email"]
    )
    stack.relay()
    running = stack.notifier()
    eventually(lambda: bool(running.notifier.pinned))
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()
    eventually(lambda: len(stack.smtp.delivered) == 2)

    app.customers.erase_customer(world.context, customer.id)
    stack.relay()

    def erased() -> bool:
        page = stack.ledger.search(world.tenant_id, PageRequest(), ticket_id=ticket.id)
        return [e.delivery.erased for e in page.items] == [True, True]

    eventually(erased)
    running.stop()
    for entry in stack.ledger.search(world.tenant_id, PageRequest(), ticket_id=ticket.id).items:
        assert (entry.delivery.address, entry.body) == (None, None)
        assert entry.delivery.status is DeliveryStatus.SENT


def test_your_turn_is_near_goes_once_to_each_customer_who_reaches_the_third_place(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    customers = [
        app.customers.register_customer(
            world.context, f"C{i}", email=f"c{i}@example.org", channels=["email"], language="en"
        )
        for i in range(4)
    ]
    agent_id = called_at_counter(world, "2")
    stack.relay()
    running = stack.notifier()
    eventually(lambda: bool(running.notifier.pinned))
    for customer in customers:
        app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()
    eventually(lambda: len(stack.smtp.delivered) == 7)  # 4 numbers, 3 near (places 1 to 3)

    first = app.staffing.call_next(world.context, agent_id, world.queue_id)  # now 4th is 3rd
    stack.relay()
    eventually(lambda: len(stack.smtp.delivered) == 9)
    app.tickets.start_ticket(world.context, first.id)
    app.tickets.close_ticket(world.context, first.id)
    app.staffing.call_next(
        world.context, agent_id, world.queue_id
    )  # nobody new reaches third place
    stack.relay()
    eventually(lambda: len(stack.smtp.delivered) == 10)
    time.sleep(1.0)
    running.stop()

    near = [d.rcpt_tos[0] for d in stack.smtp.delivered if "turn is near" in d.message["Subject"]]
    assert sorted(near) == [f"c{i}@example.org" for i in range(4)]
    assert len(stack.smtp.delivered) == 10
