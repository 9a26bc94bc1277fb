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
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dramatiq
import pytest

from application.appointments import Appointments
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
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import relay_in_thread_until
from tests.provider_servers import SmtpServer

pytestmark = pytest.mark.integration

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()


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


class SkewedClock:
    """The wall clock moved by ``offset``: a test puts "now" just before the end of a
    customer's quiet hours without waiting for it. The notifier and the jobs share it."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclasses.dataclass
class Stack:
    container: Container
    bootstrap: str
    ledger: PostgresLedger
    jobs: DeliveryJobs
    smtp: SmtpServer
    group: str
    clock: SkewedClock

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
            clock=self.clock,
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
        clock = SkewedClock()
        jobs = DeliveryJobs(
            broker,
            ledger,
            {"email": email},
            clock=clock,
            tickets=container.tickets,
            appointments=Appointments(container.app),
        )
        worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
        worker.start()
        try:
            yield Stack(
                container,
                kafka_bootstrap,
                ledger,
                jobs,
                smtp,
                f"notifier-{uuid.uuid4().hex[:8]}",
                clock,
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


JEANNE = "jeanne.martin@example.org"


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
        email=JEANNE,
        channels=["email"],
        language="en",
    )
    agent_id = called_at_counter(world, "3")
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()
    # Issued first in line: the number, and at once "your turn is near".
    eventually(lambda: len(stack.smtp.to(JEANNE)) == 2)
    assert app.staffing.call_next(world.context, agent_id, world.queue_id).id == ticket.id

    stack.relay()

    eventually(lambda: len(stack.smtp.to(JEANNE)) == 3)
    running.stop()
    by_subject = {d.message["Subject"]: d for d in stack.smtp.to(JEANNE)}
    called = by_subject[f"{ticket.number}: it's your turn, counter 3"]
    assert called.rcpt_tos == [JEANNE]
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
    assert len(stack.smtp.to(JEANNE)) == 3
    entries = stack.ledger.search(world.tenant_id, PageRequest(), ticket_id=ticket.id).items
    assert sorted(e.delivery.kind.value for e in entries) == [
        "called",
        "ticket_issued",
        "turn_near",
    ]
    assert {(e.delivery.status, e.delivery.attempts) for e in entries} == {(DeliveryStatus.SENT, 1)}


QUIET_TEST = ("owl@example.org", "quiet@example.org", "keen@example.org")


def test_nothing_is_sent_during_the_customers_quiet_hours_or_without_a_chosen_channel(
    stack: Stack, world: TenantWorld
) -> None:
    """Nothing is SENT in quiet hours: the ledger holds the owl's messages until they end."""
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

    eventually(lambda: len(stack.smtp.to(*QUIET_TEST)) == 2)  # the number, and "turn near" (third)
    time.sleep(1.0)
    running.stop()
    assert {tuple(d.rcpt_tos) for d in stack.smtp.to(*QUIET_TEST)} == {("keen@example.org",)}
    bodies = [d.message.get_body(("plain",)).get_content() for d in stack.smtp.to(*QUIET_TEST)]
    assert any("Votre numéro est" in body for body in bodies)
    end = datetime.combine(local.date(), datetime.strptime(quiet["end"], "%H:%M").time())
    if end.time() < local.time():
        end += timedelta(days=1)  # the window spans midnight
    # First in line: the number and "turn near", both held until the hours end.
    held = [e.delivery for e in owl_entries(stack, world, sleeping.id)]
    assert sorted((d.kind.value, d.status) for d in held) == [
        ("ticket_issued", DeliveryStatus.HELD),
        ("turn_near", DeliveryStatus.HELD),
    ]
    assert {d.not_before for d in held} == {end.replace(tzinfo=ZoneInfo("Europe/Paris"))}


def owl_entries(stack: Stack, world: TenantWorld, customer_id: uuid.UUID) -> list:
    page = stack.ledger.search(world.tenant_id, PageRequest(limit=100))
    return [e for e in page.items if e.customer_id == customer_id]


def quiet_until_soon(stack: Stack, margin: timedelta) -> tuple[dict[str, str], datetime]:
    """Quiet hours (Paris) that end ``margin`` from now on the stack's clock, which is moved
    so that a whole minute ends then; the end, as a real (unskewed) instant."""
    now = datetime.now(UTC)
    end = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    stack.clock.offset = end - margin - now
    local_end = end.astimezone(ZoneInfo("Europe/Paris"))
    start = local_end - timedelta(hours=1)
    window = {"start": start.strftime("%H:%M"), "end": local_end.strftime("%H:%M")}
    return window, end - stack.clock.offset


SOON = ("dawn@example.org", "stale@example.org", "gone@example.org")


def test_a_message_held_in_quiet_hours_is_sent_once_when_they_end(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    stack.relay()
    running = stack.notifier()
    eventually(lambda: bool(running.notifier.pinned))
    window, end = quiet_until_soon(stack, margin=timedelta(seconds=6))
    customer = app.customers.register_customer(
        world.context,
        "Dawn",
        email="dawn@example.org",
        channels=["email"],
        language="en",
        quiet_hours=window,
    )
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()

    # The number and "turn near" (first in line) are held, not sent.
    eventually(lambda: len(owl_entries(stack, world, customer.id)) == 2, timeout=4)
    entries = owl_entries(stack, world, customer.id)
    assert {e.delivery.status for e in entries} == {DeliveryStatus.HELD}
    assert stack.smtp.to("dawn@example.org") == []

    eventually(lambda: len(stack.smtp.to("dawn@example.org")) == 2)
    time.sleep(1.0)  # time for a second send, if there were one
    running.stop()
    mail = stack.smtp.to("dawn@example.org")
    assert len(mail) == 2
    assert all(d.received_at >= end for d in mail), (end, [d.received_at for d in mail])
    assert {d.message["Subject"] for d in mail} == {
        f"Your ticket {ticket.number}",
        f"{ticket.number}: your turn is near",
    }
    entries = owl_entries(stack, world, customer.id)
    assert {(e.delivery.status, e.delivery.attempts) for e in entries} == {(DeliveryStatus.SENT, 1)}


def test_a_held_message_no_longer_news_when_the_hours_end_is_skipped_not_sent(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    agent_id = called_at_counter(world, "4")
    stack.relay()
    running = stack.notifier()
    eventually(lambda: bool(running.notifier.pinned))
    window, end = quiet_until_soon(stack, margin=timedelta(seconds=12))
    served = app.customers.register_customer(
        world.context, "Stale", email="stale@example.org", channels=["email"], quiet_hours=window
    )
    leaving = app.customers.register_customer(
        world.context, "Gone", email="gone@example.org", channels=["email"], quiet_hours=window
    )

    def recorded() -> int:
        return len(owl_entries(stack, world, served.id) + owl_entries(stack, world, leaving.id))

    # Each step is read (and held) while it is news: the notifier plans what is news now.
    first = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=served.id)
    second = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=leaving.id)
    stack.relay()
    eventually(lambda: recorded() == 4, timeout=4)  # the numbers, and "turn near" for both
    assert app.staffing.call_next(world.context, agent_id, world.queue_id).id == first.id
    stack.relay()
    eventually(lambda: recorded() == 5, timeout=3)
    app.tickets.start_ticket(world.context, first.id)
    app.tickets.cancel_ticket(world.context, second.id)
    stack.relay()
    eventually(lambda: recorded() == 6, timeout=3)
    assert stack.smtp.to(*SOON) == []

    # The cancellation is still news at the end of the hours, and goes out then; the rest is
    # skipped: the ticket was served, or cancelled, meanwhile.
    eventually(lambda: len(stack.smtp.to(*SOON)) == 1)

    def settled() -> bool:
        entries = owl_entries(stack, world, served.id) + owl_entries(stack, world, leaving.id)
        return DeliveryStatus.HELD not in {e.delivery.status for e in entries}

    eventually(settled)
    time.sleep(1.0)
    running.stop()
    [notice] = stack.smtp.to(*SOON)
    assert notice.rcpt_tos == ["gone@example.org"] and notice.received_at >= end
    outcome = {
        (e.customer_id, e.delivery.kind.value): (e.delivery.status, e.delivery.error)
        for e in owl_entries(stack, world, served.id) + owl_entries(stack, world, leaving.id)
    }
    skipped = DeliveryStatus.SKIPPED
    assert outcome == {
        (served.id, "ticket_issued"): (skipped, "no longer news: the ticket is serving"),
        (served.id, "turn_near"): (skipped, "no longer news: the ticket is serving"),
        (served.id, "called"): (skipped, "no longer news: the ticket is serving"),
        (leaving.id, "ticket_issued"): (skipped, "no longer news: the ticket is cancelled"),
        (leaving.id, "turn_near"): (skipped, "no longer news: the ticket is cancelled"),
        (leaving.id, "cancelled"): (DeliveryStatus.SENT, None),
    }


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
    eventually(lambda: len(stack.smtp.to("leaving@example.org")) == 2)

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


FOUR = tuple(f"c{i}@example.org" for i in range(4))


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
    eventually(lambda: len(stack.smtp.to(*FOUR)) == 7)  # 4 numbers, 3 near (places 1 to 3)

    first = app.staffing.call_next(world.context, agent_id, world.queue_id)  # now 4th is 3rd
    stack.relay()
    eventually(lambda: len(stack.smtp.to(*FOUR)) == 9)
    app.tickets.start_ticket(world.context, first.id)
    app.tickets.close_ticket(world.context, first.id)
    app.staffing.call_next(
        world.context, agent_id, world.queue_id
    )  # nobody new reaches third place
    stack.relay()
    # The second is called, and the first, completed, is asked for feedback.
    eventually(lambda: len(stack.smtp.to(*FOUR)) == 11)
    time.sleep(1.0)
    running.stop()

    near = [d.rcpt_tos[0] for d in stack.smtp.to(*FOUR) if "turn is near" in d.message["Subject"]]
    assert sorted(near) == [f"c{i}@example.org" for i in range(4)]
    feedback = [d.rcpt_tos[0] for d in stack.smtp.to(*FOUR) if "your visit" in d.message["Subject"]]
    assert feedback == ["c0@example.org"]
    assert len(stack.smtp.to(*FOUR)) == 11
