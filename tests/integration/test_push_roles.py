"""Push as an operator runs it: ``smartqueue notifier`` and ``smartqueue jobs`` processes
configured by environment variables only. With ``SMARTQUEUE_FCM_*`` set, a customer who chose
push and whose app registered a device token gets FCM HTTP v1 requests at a local FCM-shaped
server (bearer from the service account's signed assertion); a token FCM reports unregistered is
dead at once. Without those settings, push goes to the console channel, as the ledger says."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from application.paging import PageRequest
from domain.delivery import DeliveryStatus
from domain.messages import Channel
from infrastructure.container import Container
from infrastructure.notify.ledger_rows import LedgerEntry
from tests.conftest import owner_url
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import relay_in_thread_until
from tests.integration.test_notification_roles import Role, eventually
from tests.provider_servers import (
    PROJECT,
    SEND,
    TOKEN,
    Google,
    ProviderServer,
    Seen,
    service_account_key,
)

pytestmark = pytest.mark.integration

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(key: rsa.RSAPrivateKey) -> Iterator[tuple[Google, ProviderServer]]:
    fcm = Google(key.public_key())
    with ProviderServer(fcm) as server:
        fcm.token_uri = server.url + TOKEN
        yield fcm, server


def base_env(
    container: Container, kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SMARTQUEUE_FCM_")}
    return {
        **environ,
        "DATABASE_URL": container.database_url,
        "MIGRATION_DATABASE_URL": owner_url(container.database_url),
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_HOME": str(tmp_path),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "INFO",
        "SMARTQUEUE_NOTIFIER_GROUP": f"notifier-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.2",
        "SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS": "0.5",
    }


def push_ledger(container: Container, world: TenantWorld) -> list[LedgerEntry]:
    ledger = container.notify.ledger
    return ledger.search(world.tenant_id, PageRequest(limit=100), channel=Channel.PUSH).items


def run_roles_until(
    container: Container,
    world: TenantWorld,
    kafka_bootstrap: str,
    env: dict[str, str],
    tmp_path: Path,
    customers: dict[str, str],
    settled: int,
) -> tuple[dict[str, list[uuid.UUID]], list[LedgerEntry]]:
    """Start the roles, issue one ticket per customer (name -> device token, push chosen), and
    wait until ``settled`` push messages of this tenant are sent or dead; the tickets' ids by
    customer, and the tenant's push ledger."""

    def relay() -> None:
        relay_in_thread_until(
            container, kafka_bootstrap, container.app.recorder.max_notification_id() or 0
        )

    relay()  # the topics exist before the notifier subscribes
    jobs = Role("jobs", env, tmp_path)
    notifier = Role("notifier", env, tmp_path)
    tickets: dict[str, list[uuid.UUID]] = {}
    try:
        eventually(lambda: "gateway group starts" in notifier.text())  # it holds its partitions
        for name, device in customers.items():
            customer = container.customers.register_customer(
                world.context, name, channels=["push"], push_token=device, language="en"
            )
            ticket = container.tickets.issue_ticket(
                world.context, world.queue_id, customer_id=customer.id
            )
            tickets[name] = [ticket.id]
        relay()

        def done() -> bool:
            final = {DeliveryStatus.SENT, DeliveryStatus.DEAD}
            return sum(e.delivery.status in final for e in push_ledger(container, world)) >= settled

        eventually(done)
        time.sleep(1.0)  # a second copy or a retry would show by now
    finally:
        notifier.stop()
        jobs.stop()
    return tickets, push_ledger(container, world)


def test_a_customer_with_a_push_token_gets_the_push_through_fcm(
    container: Container,
    world: TenantWorld,
    kafka_bootstrap: str,
    redis_url: str,
    google: tuple[Google, ProviderServer],
    key: rsa.RSAPrivateKey,
    tmp_path: Path,
) -> None:
    fcm, server = google
    key_file = tmp_path / "service-account.json"
    # The key file's token_uri is Google's; the setting points the exchange at the local server.
    key_file.write_text(json.dumps(service_account_key(key, "https://oauth2.googleapis.com/token")))
    env = {
        **base_env(container, kafka_bootstrap, redis_url, tmp_path),
        "SMARTQUEUE_FCM_CREDENTIALS_FILE": str(key_file),
        "SMARTQUEUE_FCM_BASE_URL": server.url,
        "SMARTQUEUE_FCM_TOKEN_URL": server.url + TOKEN,
    }
    device = f"device-{uuid.uuid4().hex}"
    # Each ticket is first in its queue's line: "your number" and "your turn is near".
    tickets, ledger = run_roles_until(
        container,
        world,
        kafka_bootstrap,
        env,
        tmp_path,
        {"Ada": device, "Gone": "unregistered-device"},
        settled=4,
    )

    mine = [seen for seen in server.requests_to(SEND) if seen.json()["message"]["token"] == device]
    number = container.tickets.get_ticket(world.tenant_id, tickets["Ada"][0]).number
    site = container.catalogue.get_site(world.tenant_id, world.site_id).name
    assert sorted(seen.json()["message"]["notification"]["title"] for seen in mine) == sorted(
        [f"Your ticket {number}", f"{number}: your turn is near"]
    )
    for seen in mine:
        check_fcm_request(seen, fcm, device)
        body = seen.json()["message"]["notification"]["body"]
        assert body.startswith(f"{site}: ") and number in body

    ada = [e for e in ledger if e.delivery.address == device]
    assert sorted(e.delivery.status for e in ada) == [DeliveryStatus.SENT] * 2
    assert all(e.delivery.provider_id.startswith(f"projects/{PROJECT}/messages/") for e in ada)
    assert {e.delivery.attempts for e in ada} == {1}

    # FCM's 404 UNREGISTERED is for good: dead at the first attempt, never tried again.
    gone = [e for e in ledger if e.delivery.address == "unregistered-device"]
    assert gone, ledger
    assert {(e.delivery.status, e.delivery.attempts) for e in gone} == {(DeliveryStatus.DEAD, 1)}
    assert all("UNREGISTERED" in (e.delivery.error or "") for e in gone)
    sent_to_gone = [
        seen
        for seen in server.requests_to(SEND)
        if seen.json()["message"]["token"] == "unregistered-device"
    ]
    assert len(sent_to_gone) == len(gone)


def check_fcm_request(seen: Seen, fcm: Google, device: str) -> None:
    """One FCM HTTP v1 send exactly as Google takes it."""
    assert (seen.method, seen.path, seen.query) == ("POST", SEND, {})
    bearer = seen.headers["authorization"].removeprefix("Bearer ")
    assert bearer in fcm.issued  # obtained from the token endpoint with a signed assertion
    assert seen.headers["content-type"] == "application/json"
    message = seen.json()["message"]
    assert set(seen.json()) == {"message"}
    assert set(message) == {"token", "notification"}
    assert message["token"] == device
    assert set(message["notification"]) == {"title", "body"}


def test_without_fcm_settings_push_goes_to_the_console(
    container: Container,
    world: TenantWorld,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    env = base_env(container, kafka_bootstrap, redis_url, tmp_path)
    device = f"device-{uuid.uuid4().hex}"

    _, ledger = run_roles_until(
        container, world, kafka_bootstrap, env, tmp_path, {"Ada": device}, settled=2
    )

    ada = [e for e in ledger if e.delivery.address == device]
    assert len(ada) == 2
    assert {e.delivery.status for e in ada} == {DeliveryStatus.SENT}
    assert all(e.delivery.provider_id == f"console:{e.message_id}" for e in ada)
