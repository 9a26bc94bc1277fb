"""Delivery jobs on real dramatiq workers, Redis and PostgreSQL, sending to a local Twilio-shaped
server: retried with back-off until the provider takes the message, never sent twice."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import dramatiq
import pytest
from click.testing import CliRunner
from psycopg_pool import ConnectionPool

from domain.delivery import Delivery, DeliveryStatus
from domain.messages import Channel, MessageKind
from infrastructure.notify.jobs import DeliveryJobs, delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.twilio import TwilioChannel
from infrastructure.postgres.database import open_pool
from infrastructure.settings import current_settings, load_settings
from interfaces.cli import main
from tests.conftest import owner_url
from tests.provider_servers import ProviderServer, Reply, Seen

pytestmark = pytest.mark.integration

SID = "AC" + "0" * 32
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
_sids = itertools.count(1)


def twilio(seen: Seen) -> Reply:
    if seen.path != MESSAGES:
        return Reply(404, {"code": 20404, "message": "not found"})
    return Reply(201, {"sid": f"SM{next(_sids):032x}", "status": "queued"})


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(twilio) as server:
        yield server


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    opened = open_pool(database_url, size=4)
    yield opened
    opened.close()


@pytest.fixture
def ledger(pool: ConnectionPool) -> PostgresLedger:
    return PostgresLedger(pool)


@pytest.fixture
def jobs(
    redis_url: str, ledger: PostgresLedger, provider: ProviderServer
) -> Iterator[DeliveryJobs]:
    """The deliver actor on a broker of its own (a fresh namespace), with two worker threads."""
    settings = load_settings(
        {
            "SMARTQUEUE_NOTIFY_MAX_ATTEMPTS": "4",
            "SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.05",
            "SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS": "0.2",
        }
    ).notify
    broker = delivery_broker(redis_url, settings, namespace=f"test-{uuid.uuid4().hex[:8]}")
    sms = TwilioChannel(
        account_sid=SID, auth_token="token", sms_sender="+15005550006", base_url=provider.url
    )
    built = DeliveryJobs(broker, ledger, {"sms": sms})
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    yield built
    worker.stop()
    broker.close()
    sms.close()


def record(ledger: PostgresLedger, attempt_limit: int = 4) -> LedgerEntry:
    delivery = Delivery(
        id=uuid.uuid4(),
        kind=MessageKind.CALLED,
        channel=Channel.SMS,
        created_at=datetime.now(UTC),
        address="+33612345678",
        body=MessageBody(text="Please go to counter 3").encode(),
        ticket_id=uuid.uuid4(),
        attempt_limit=attempt_limit,
    )
    entry = LedgerEntry(uuid.uuid4(), delivery, "en")
    assert ledger.record(entry)
    return entry


def settled(ledger: PostgresLedger, entry: LedgerEntry, timeout: float = 15) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = ledger.get(entry.tenant_id, entry.message_id).delivery
        if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.DEAD):
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"message still {delivery.status} after {timeout} s")


def test_a_provider_failing_twice_gets_the_message_once_on_the_third_attempt(
    jobs: DeliveryJobs, ledger: PostgresLedger, provider: ProviderServer
) -> None:
    provider.script(MESSAGES, Reply(500, {"message": "oops", "code": 1}), Reply(500, {}))
    entry = record(ledger)

    jobs.enqueue(entry.tenant_id, entry.message_id)

    delivery = settled(ledger, entry)
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.attempts == 3
    assert delivery.provider_id is not None and delivery.provider_id.startswith("SM")
    time.sleep(0.5)  # any stray retry would have run by now
    assert len(provider.requests_to(MESSAGES)) == 3
    accepted = provider.requests_to(MESSAGES)[-1].form()
    assert accepted["To"] == ["+33612345678"]
    assert accepted["Body"] == ["Please go to counter 3"]


def test_a_rate_limited_message_waits_as_long_as_the_provider_asks(
    jobs: DeliveryJobs, ledger: PostgresLedger, provider: ProviderServer
) -> None:
    provider.script(MESSAGES, Reply(429, {"code": 20429}, headers={"Retry-After": "1"}))
    entry = record(ledger)

    jobs.enqueue(entry.tenant_id, entry.message_id)

    assert settled(ledger, entry).attempts == 2
    arrived = [seen.at for seen in provider.requests_to(MESSAGES)]
    assert arrived[1] - arrived[0] >= 0.95  # not the 0.05 s back-off


def test_a_job_delivered_twice_sends_once(
    jobs: DeliveryJobs, ledger: PostgresLedger, provider: ProviderServer
) -> None:
    entry = record(ledger)

    jobs.enqueue(entry.tenant_id, entry.message_id)
    jobs.enqueue(entry.tenant_id, entry.message_id)

    assert settled(ledger, entry).attempts == 1
    time.sleep(0.5)
    assert len(provider.requests_to(MESSAGES)) == 1


def test_a_provider_failing_every_time_leaves_the_message_dead_after_its_attempts(
    jobs: DeliveryJobs, ledger: PostgresLedger, provider: ProviderServer
) -> None:
    provider.script(MESSAGES, *[Reply(503, {}) for _ in range(10)])
    entry = record(ledger, attempt_limit=3)

    jobs.enqueue(entry.tenant_id, entry.message_id)

    delivery = settled(ledger, entry)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
    time.sleep(0.5)
    assert len(provider.requests_to(MESSAGES)) == 3
    assert entry.message_id in {dead.message_id for dead in ledger.dead_letters()}


def test_a_refused_message_is_dead_at_once(
    jobs: DeliveryJobs, ledger: PostgresLedger, provider: ProviderServer
) -> None:
    provider.script(MESSAGES, Reply(400, {"code": 21211, "message": "not a valid number"}))
    entry = record(ledger)

    jobs.enqueue(entry.tenant_id, entry.message_id)

    delivery = settled(ledger, entry)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 1)
    assert delivery.error is not None and "21211" in delivery.error


@pytest.fixture
def cli_env(database_url: str, redis_url: str, tmp_path) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    current_settings.cache_clear()
    yield {
        "DATABASE_URL": database_url,
        "MIGRATION_DATABASE_URL": owner_url(database_url),
        "REDIS_URL": redis_url,
        "SMARTQUEUE_HOME": str(tmp_path),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "WARNING",
    }
    current_settings.cache_clear()


def test_the_operator_lists_a_dead_message_and_queues_it_again(
    cli_env: dict[str, str], ledger: PostgresLedger, redis_url: str
) -> None:
    entry = record(ledger)
    ledger.transition(
        entry.tenant_id,
        entry.message_id,
        lambda d: d.mark_failed("provider down", datetime.now(UTC), retryable=False),
    )

    listed = CliRunner().invoke(main, ["jobs", "dead-letters"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if str(entry.message_id) in line)
    assert str(entry.tenant_id) in line and "provider down" in line and "+336" not in line

    retried = CliRunner().invoke(main, ["jobs", "retry", str(entry.message_id)], env=cli_env)
    assert retried.exit_code == 0, retried.output
    revived = ledger.get(entry.tenant_id, entry.message_id).delivery
    assert (revived.status, revived.attempts) == (DeliveryStatus.QUEUED, 1)
    again = CliRunner().invoke(main, ["jobs", "retry", str(entry.message_id)], env=cli_env)
    assert again.exit_code == 1 and "no dead message" in again.output

    # The queued job is on the broker `smartqueue jobs` consumes: a worker there sends it (to the
    # console channel, since no provider is configured).
    broker = delivery_broker(redis_url, load_settings(cli_env).notify)
    DeliveryJobs(broker, ledger, {})
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        sent = settled(ledger, entry)
    finally:
        worker.stop()
        broker.close()
    assert (sent.status, sent.provider_id) == (DeliveryStatus.SENT, f"console:{entry.message_id}")
