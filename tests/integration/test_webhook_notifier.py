"""Published events to webhooks end to end: the relay puts a ticket's events on the embedded
Kafka broker, the notifier records one delivery per wanting subscription and queues it, a jobs
worker posts it signed to a local receiver; reading the events again posts nothing more."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import dramatiq
import pytest

from application.notifications import NotificationFacts
from application.paging import PageRequest
from domain.webhooks import Subscription, WebhookStatus
from infrastructure.container import Container
from infrastructure.notify.jobs import DeliveryJobs, delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.notifier import Notifier
from infrastructure.notify.webhook_jobs import WebhookJobs
from infrastructure.notify.webhook_store import PostgresWebhooks
from infrastructure.notify.webhooks import verify_signature
from infrastructure.settings import load_settings
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import relay_in_thread_until
from tests.integration.test_notifier import Running, called_at_counter, ends, eventually, rewind
from tests.provider_servers import ProviderServer, Reply, Seen

pytestmark = pytest.mark.integration

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

SECRET = "whsec_notifier_0123456789"
HOOK = "/hooks/queue-events"


def receiver(seen: Seen) -> Reply:
    if not verify_signature(SECRET, seen.headers.get("smartqueue-signature"), seen.body):
        return Reply(401, {"error": "bad signature"})
    return Reply(204, b"")


@pytest.fixture
def endpoint() -> Iterator[ProviderServer]:
    with ProviderServer(receiver) as server:
        yield server


@pytest.fixture
def hooks(container: Container, redis_url: str) -> Iterator[tuple[WebhookJobs, DeliveryJobs]]:
    notify = load_settings({"SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.05"}).notify
    broker = delivery_broker(redis_url, notify, namespace=f"test-{uuid.uuid4().hex[:8]}")
    webhooks = WebhookJobs(
        broker, PostgresWebhooks(container.pool), attempt_limit=3, public_only=False
    )
    jobs = DeliveryJobs(broker, PostgresLedger(container.pool), {})
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield webhooks, jobs
    worker.stop()
    broker.close()
    webhooks.close()


def test_a_ticket_s_events_reach_the_subscriptions_that_want_them_once(
    container: Container,
    kafka_bootstrap: str,
    world: TenantWorld,
    endpoint: ProviderServer,
    hooks: tuple[WebhookJobs, DeliveryJobs],
) -> None:
    webhooks, jobs = hooks
    now = datetime.now(UTC)
    wanted = ("Ticket.Called", "Ticket.Issued")
    subscription = Subscription(
        uuid.uuid4(), world.tenant_id, endpoint.url + HOOK, wanted, SECRET, now, now
    )
    webhooks.store.add(subscription)
    group = f"notifier-{uuid.uuid4().hex[:8]}"
    kafka = dataclasses.replace(container.settings.kafka, bootstrap_servers=kafka_bootstrap)
    facts = NotificationFacts(
        container.tickets, container.queues, container.catalogue, container.customers
    )

    def relay() -> None:
        position = container.app.recorder.max_notification_id() or 0
        relay_in_thread_until(container, kafka_bootstrap, position)

    def notifier() -> Running:
        settings = load_settings({"SMARTQUEUE_NOTIFIER_GROUP": group}).notify
        return Running(Notifier(facts, jobs.ledger, jobs, kafka, settings, webhooks=webhooks))

    relay()
    before = ends(kafka_bootstrap)
    running = notifier()
    eventually(lambda: bool(running.notifier.pinned))
    agent_id = called_at_counter(world, "4")
    ticket = container.tickets.issue_ticket(world.context, world.queue_id)
    container.staffing.call_next(world.context, agent_id, world.queue_id)
    relay()

    eventually(lambda: len(endpoint.requests_to(HOOK)) == 2)
    running.stop()
    posted = [seen.json() for seen in endpoint.requests_to(HOOK)]
    assert sorted(p["event_type"] for p in posted) == ["Ticket.Called", "Ticket.Issued"]
    assert {p["aggregate_id"] for p in posted} == {str(ticket.id)}
    assert all(p["tenant_id"] == str(world.tenant_id) for p in posted)

    rewind(kafka_bootstrap, group, before)
    again = notifier()
    eventually(lambda: again.notifier.handled >= 2)
    time.sleep(1.0)
    again.stop()

    assert len(endpoint.requests_to(HOOK)) == 2
    log = webhooks.store.deliveries(world.tenant_id, subscription.id, PageRequest()).items
    assert sorted((d.event_type, d.status, d.attempts) for d in log) == [
        ("Ticket.Called", WebhookStatus.DELIVERED, 1),
        ("Ticket.Issued", WebhookStatus.DELIVERED, 1),
    ]
    assert {d.response_code for d in log} == {204}
