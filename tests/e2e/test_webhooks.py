"""Webhooks over HTTP against a running API, a dramatiq worker and a local receiver that checks
every signature; and Twilio's status callback, signed or not."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import dramatiq
import httpx
import pytest
from psycopg_pool import ConnectionPool

from domain.delivery import Delivery, DeliveryStatus
from domain.messages import Channel, MessageKind
from infrastructure.notify.jobs import delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.twilio import twilio_signature
from infrastructure.notify.webhook_jobs import QUEUE, WebhookJobs
from infrastructure.notify.webhook_store import PostgresWebhooks
from infrastructure.notify.webhooks import verify_signature
from infrastructure.postgres.database import open_pool
from infrastructure.settings import load_settings
from tests.e2e.conftest import _free_port, running_api
from tests.e2e.support import Session, Tenant, assert_problem, login
from tests.provider_servers import ProviderServer, Reply, Seen

pytestmark = pytest.mark.e2e

SECRET = "whsec_e2e_receiver_0123456789"
HOOK = "/hooks/smartqueue"
TWILIO_TOKEN = "twilio-auth-token-e2e"
CALLBACK = "/api/v1/callbacks/twilio/status/"


def receiver(seen: Seen) -> Reply:
    if not verify_signature(SECRET, seen.headers.get("smartqueue-signature"), seen.body):
        return Reply(401, {"error": "bad signature"})
    return Reply(200, {"ok": True})


@pytest.fixture(scope="module")
def endpoint() -> Iterator[ProviderServer]:
    with ProviderServer(receiver) as server:
        yield server


@pytest.fixture(scope="module")
def api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """An API that allows local receivers and knows its Twilio callback URL."""
    port = _free_port()
    extra = {
        "SMARTQUEUE_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SMARTQUEUE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SMARTQUEUE_TWILIO_STATUS_CALLBACK_URL": f"http://127.0.0.1:{port}{CALLBACK}",
    }
    with running_api(database_url, redis_url, e2e_home, port=port, **extra) as url:
        yield url


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    opened = open_pool(database_url, size=2)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def worker(redis_url: str, pool: ConnectionPool) -> Iterator[WebhookJobs]:
    """``smartqueue jobs``' webhook actor, on the API's broker, in this process."""
    settings = load_settings({"SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.05"}).notify
    broker = delivery_broker(redis_url, settings)
    jobs = WebhookJobs(broker, PostgresWebhooks(pool), attempt_limit=3, public_only=False)
    running = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=1, worker_timeout=50)
    running.start()
    yield jobs
    running.stop()
    broker.close()
    jobs.close()


@pytest.fixture
def tenant_admin(api: str, new_tenant: Callable[[], Tenant]) -> Iterator[Session]:
    with httpx.Client(base_url=api, timeout=30.0) as client:
        tenant = new_tenant()
        yield login(client, tenant, tenant.admin_email, tenant.admin_password)


def wait_for(check: Callable[[], object], timeout: float = 15) -> object:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def test_a_subscription_is_pinged_signed_logged_redelivered_then_removed(
    tenant_admin: Session, endpoint: ProviderServer, worker: WebhookJobs
) -> None:
    admin = tenant_admin
    url = f"{endpoint.url}{HOOK}/{uuid.uuid4().hex}"
    created = admin.post(
        "webhooks/", {"url": url, "event_types": ["Ticket.Called"], "secret": SECRET}
    )
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"] == SECRET and hook["event_types"] == ["Ticket.Called"]
    assert "secret" not in admin.get(f"webhooks/{hook['id']}/").json()
    path = url.removeprefix(endpoint.url)

    ping = admin.post(f"webhooks/{hook['id']}/test/")
    assert ping.status_code == 202, ping.text
    wait_for(lambda: endpoint.requests_to(path))
    seen = endpoint.requests_to(path)[0]
    assert seen.json()["event_type"] == "Webhook.Ping"
    assert verify_signature(SECRET, seen.headers["smartqueue-signature"], seen.body)

    def delivered() -> dict | None:
        items = admin.page(f"webhooks/{hook['id']}/deliveries/")["items"]
        return items[0] if items and items[0]["status"] == "delivered" else None

    entry = wait_for(delivered)
    assert isinstance(entry, dict)
    assert (entry["event_type"], entry["attempts"], entry["response_code"]) == (
        "Webhook.Ping",
        1,
        200,
    )
    again = admin.post(f"webhooks/{hook['id']}/deliveries/{entry['id']}/redeliver/")
    assert again.status_code == 202, again.text
    wait_for(lambda: len(endpoint.requests_to(path)) == 2)
    assert endpoint.requests_to(path)[1].body == seen.body

    paused = admin.patch(f"webhooks/{hook['id']}/", {"active": False})
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert admin.request("DELETE", f"webhooks/{hook['id']}/").status_code == 204
    assert_problem(admin.get(f"webhooks/{hook['id']}/"), 404)


def test_a_subscription_without_a_secret_gets_one_shown_once_and_bad_ones_are_422(
    tenant_admin: Session,
) -> None:
    admin = tenant_admin
    made = admin.post(
        "webhooks/", {"url": "https://example.org/in", "event_types": ["Ticket.Issued"]}
    )
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    listed = admin.page("webhooks/")["items"]
    assert [item["id"] for item in listed] == [made.json()["id"]]
    assert all("secret" not in item for item in listed)
    unknown = admin.post("webhooks/", {"url": "https://example.org/in", "event_types": ["Nope"]})
    assert "Nope" in assert_problem(unknown, 422)["detail"]
    ftp = admin.post("webhooks/", {"url": "ftp://example.org/in", "event_types": ["Ticket.Issued"]})
    assert "url" in assert_problem(ftp, 422)["detail"]
    assert_problem(admin.post("webhooks/", {"url": "https://example.org"}), 400)


def sent_sms(pool: ConnectionPool, tenant_id: uuid.UUID, sid: str) -> LedgerEntry:
    now = datetime.now(UTC)
    delivery = Delivery(
        id=uuid.uuid4(),
        kind=MessageKind.CALLED,
        channel=Channel.SMS,
        created_at=now,
        address="+33612345678",
        body=MessageBody(text="Counter 3").encode(),
    )
    delivery.mark_sent(sid, now)
    entry = LedgerEntry(tenant_id, delivery, "en")
    assert PostgresLedger(pool).record(entry)
    return entry


def test_twilio_status_callbacks_need_twilios_signature_and_move_the_message(
    api: str, pool: ConnectionPool, new_tenant: Callable[[], Tenant]
) -> None:
    tenant = new_tenant()
    sid = "SM" + uuid.uuid4().hex
    entry = sent_sms(pool, uuid.UUID(tenant.id), sid)
    form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    body = urlencode(form)
    content = {"Content-Type": "application/x-www-form-urlencoded"}
    signature = twilio_signature(TWILIO_TOKEN, f"{api}{CALLBACK}", form)

    with httpx.Client(base_url=api, timeout=30.0) as client:
        forged = client.post(
            CALLBACK, content=body, headers={**content, "X-Twilio-Signature": "AAAA" + signature}
        )
        assert_problem(forged, 403)
        assert PostgresLedger(pool).get(entry.tenant_id, entry.message_id).delivery.status is (
            DeliveryStatus.SENT
        )
        signed = client.post(
            CALLBACK, content=body, headers={**content, "X-Twilio-Signature": signature}
        )
        assert signed.status_code == 200, signed.text
        again = client.post(
            CALLBACK, content=body, headers={**content, "X-Twilio-Signature": signature}
        )
        assert again.status_code == 200, again.text  # Twilio reports at least once

    stored = PostgresLedger(pool).get(entry.tenant_id, entry.message_id).delivery
    assert stored.status is DeliveryStatus.DELIVERED
    assert stored.delivered_at is not None
