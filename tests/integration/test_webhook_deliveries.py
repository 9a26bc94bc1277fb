"""Webhook deliveries on real dramatiq workers, Redis and PostgreSQL, to a local receiver that
verifies every signature: one delivery per event and subscription, retried until delivered,
redelivered on request, never posted twice by a job run twice."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dramatiq
import pytest
from psycopg_pool import ConnectionPool

from application.paging import PageRequest
from domain.webhooks import Subscription, WebhookDelivery, WebhookStatus, delivery_id
from infrastructure.notify.jobs import delivery_broker
from infrastructure.notify.webhook_jobs import WebhookJobs
from infrastructure.notify.webhook_store import PostgresWebhooks
from infrastructure.notify.webhooks import verify_signature
from infrastructure.postgres.database import open_pool
from infrastructure.settings import load_settings
from tests.provider_servers import ProviderServer, Reply, Seen

pytestmark = pytest.mark.integration

SECRET = "whsec_receiver_0123456789"
HOOK = "/hooks/smartqueue"


def receiver(seen: Seen) -> Reply:
    """A tenant's endpoint: 401 unless the signature is valid for the raw body, then 200."""
    if seen.path != HOOK:
        return Reply(404, {"error": "no such hook"})
    if not verify_signature(SECRET, seen.headers.get("smartqueue-signature"), seen.body):
        return Reply(401, {"error": "bad signature"})
    return Reply(200, {"ok": True})


@pytest.fixture
def endpoint() -> Iterator[ProviderServer]:
    with ProviderServer(receiver) as server:
        yield server


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    opened = open_pool(database_url, size=4)
    yield opened
    opened.close()


@pytest.fixture
def store(pool: ConnectionPool) -> PostgresWebhooks:
    return PostgresWebhooks(pool)


@pytest.fixture
def broker(redis_url: str) -> Iterator[dramatiq.Broker]:
    settings = load_settings(
        {
            "SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.05",
            "SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS": "0.2",
        }
    ).notify
    built = delivery_broker(redis_url, settings, namespace=f"test-{uuid.uuid4().hex[:8]}")
    yield built
    built.close()


@pytest.fixture
def jobs(broker: dramatiq.Broker, store: PostgresWebhooks) -> Iterator[WebhookJobs]:
    """The deliver_webhook actor with two worker threads; receivers on the loopback allowed."""
    built = WebhookJobs(broker, store, attempt_limit=4, public_only=False, timeout=5.0)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield built
    worker.stop()
    built.close()


def subscribe(store: PostgresWebhooks, url: str, *types: str) -> Subscription:
    now = datetime.now(UTC)
    subscription = Subscription(
        uuid.uuid4(), uuid.uuid4(), url, types or ("Ticket.Called",), SECRET, now, now
    )
    store.add(subscription)
    return subscription


def envelope(tenant_id: uuid.UUID, event_type: str = "Ticket.Called") -> dict[str, Any]:
    aggregate = uuid.uuid4()
    return {
        "event_id": f"{aggregate}:3",
        "event_type": event_type,
        "schema_version": 1,
        "tenant_id": str(tenant_id),
        "aggregate_type": "Ticket",
        "aggregate_id": str(aggregate),
        "aggregate_version": 3,
        "data": {"counter": "3"},
    }


def settled(
    store: PostgresWebhooks, subscription: Subscription, wanted: uuid.UUID, timeout: float = 15
) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while True:
        delivery = store.get_delivery(subscription.tenant_id, subscription.id, wanted)
        if delivery.status in (WebhookStatus.DELIVERED, WebhookStatus.DEAD):
            return delivery
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery still {delivery.status} after {timeout} s")
        time.sleep(0.05)


def test_an_event_read_twice_is_delivered_once_per_subscription_even_when_its_job_runs_twice(
    jobs: WebhookJobs, store: PostgresWebhooks, endpoint: ProviderServer
) -> None:
    first = subscribe(store, endpoint.url + HOOK)
    other = subscribe(store, endpoint.url + HOOK, "Ticket.Issued")
    event = envelope(first.tenant_id)

    assert jobs.dispatch(event) == 1
    assert jobs.dispatch(event) == 0  # the Kafka record redelivered
    wanted = delivery_id(event["event_id"], first.id)
    jobs.enqueue(first.tenant_id, wanted)  # and the job queued once more

    delivery = settled(store, first, wanted)
    time.sleep(0.5)  # a second post would have arrived by now
    posted = endpoint.requests_to(HOOK)
    assert len(posted) == 1
    assert posted[0].json() == event
    assert posted[0].headers["smartqueue-event-id"] == event["event_id"]
    assert delivery.status is WebhookStatus.DELIVERED
    assert (delivery.attempts, delivery.response_code) == (1, 200)
    assert store.deliveries(other.tenant_id, other.id, PageRequest()).items == []


def test_a_receiver_answering_500_then_200_gets_the_event_on_the_second_attempt(
    jobs: WebhookJobs, store: PostgresWebhooks, endpoint: ProviderServer
) -> None:
    endpoint.script(HOOK, Reply(500, {"error": "down"}))
    subscription = subscribe(store, endpoint.url + HOOK)
    event = envelope(subscription.tenant_id)

    jobs.dispatch(event)

    delivery = settled(store, subscription, delivery_id(event["event_id"], subscription.id))
    assert delivery.status is WebhookStatus.DELIVERED
    assert (delivery.attempts, delivery.response_code, delivery.error) == (2, 200, None)
    assert len(endpoint.requests_to(HOOK)) == 2


def test_a_receiver_refusing_the_signature_makes_the_delivery_dead_with_its_answer(
    jobs: WebhookJobs, store: PostgresWebhooks, endpoint: ProviderServer
) -> None:
    subscription = subscribe(store, endpoint.url + HOOK)
    subscription.secret = "whsec_not_the_receivers_one"
    store.update(subscription)
    event = envelope(subscription.tenant_id)

    jobs.dispatch(event)

    delivery = settled(store, subscription, delivery_id(event["event_id"], subscription.id))
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        WebhookStatus.DEAD,
        1,
        401,
    )
    assert delivery.error is not None and "HTTP 401" in delivery.error


def test_redeliver_sends_a_delivered_event_again(
    jobs: WebhookJobs, store: PostgresWebhooks, endpoint: ProviderServer
) -> None:
    subscription = subscribe(store, endpoint.url + HOOK)
    event = envelope(subscription.tenant_id)
    jobs.dispatch(event)
    wanted = delivery_id(event["event_id"], subscription.id)
    settled(store, subscription, wanted)

    jobs.redeliver(subscription.tenant_id, wanted)

    deadline = time.monotonic() + 15
    while len(endpoint.requests_to(HOOK)) < 2:
        assert time.monotonic() < deadline, "not redelivered"
        time.sleep(0.05)
    delivery = settled(store, subscription, wanted)
    assert (delivery.status, delivery.attempts) == (WebhookStatus.DELIVERED, 2)
    assert [seen.json() for seen in endpoint.requests_to(HOOK)] == [event, event]


def test_a_loopback_receiver_is_refused_unless_private_addresses_are_allowed(
    broker: dramatiq.Broker, store: PostgresWebhooks, endpoint: ProviderServer
) -> None:
    strict = WebhookJobs(broker, store, attempt_limit=4)  # production's default
    subscription = subscribe(store, endpoint.url + HOOK)
    event = envelope(subscription.tenant_id)
    strict.dispatch(event)
    wanted = delivery_id(event["event_id"], subscription.id)

    strict.deliver(str(subscription.tenant_id), str(wanted))  # the job, run in place

    delivery = store.get_delivery(subscription.tenant_id, subscription.id, wanted)
    assert delivery.status is WebhookStatus.DEAD
    assert delivery.error is not None and "not a public address" in delivery.error
    assert endpoint.requests_to(HOOK) == []
    strict.close()
