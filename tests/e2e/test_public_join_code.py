"""One-time SMS codes for remote joins against a real ``smartqueue api``, PostgreSQL, Redis and a
dramatiq worker delivering to a local Twilio-shaped server that checks the request: a tenant
turns codes on, the customer asks for one, the SMS carries it, the join with it succeeds; a
missing, wrong, reused, expired or locked code is refused with its documented status."""

from __future__ import annotations

import base64
import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import pytest
from psycopg_pool import ConnectionPool

from infrastructure.notify.jobs import QUEUE, DeliveryJobs, delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.twilio import TwilioChannel
from infrastructure.postgres.database import open_pool
from infrastructure.settings import load_settings
from tests.e2e.conftest import running_api
from tests.e2e.support import (
    API,
    ReadModels,
    Session,
    Tenant,
    assert_problem,
    create_tenant,
    login,
    open_floor,
)
from tests.provider_servers import ProviderServer, Reply, Seen

pytestmark = pytest.mark.e2e

SID = "AC" + "7" * 32
TOKEN = "twilio-auth-token-join-codes"
SENDER = "+15005550006"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
CODES_PER_PHONE = 3
_sids = itertools.count(1)


def twilio(seen: Seen) -> Reply:
    """Twilio's Messages API: 401 without the account's basic auth, 400 without the form's
    fields, else ``201`` with a new SID."""
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    if seen.path != MESSAGES or seen.method != "POST":
        return Reply(404, {"code": 20404, "message": "The requested resource was not found"})
    if seen.headers.get("authorization") != expected:
        return Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
    if not seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return Reply(400, {"code": 21601, "message": "form expected", "status": 400})
    form = seen.form()
    if not {"To", "From", "Body"} <= set(form):
        return Reply(400, {"code": 21604, "message": "To, From and Body are required"})
    return Reply(201, {"sid": f"SM{next(_sids):032x}", "status": "queued", "to": form["To"][0]})


@pytest.fixture(scope="module")
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(twilio) as server:
        yield server


def api_env(**extra: str) -> dict[str, str]:
    return {
        "SMARTQUEUE_TRUSTED_PROXIES": "127.0.0.1",
        "SMARTQUEUE_PUBLIC_CODE_LIMIT_PHONE": f"{CODES_PER_PHONE}/minute",
        # Every join request counts against the phone, refused codes too; the lock after five
        # wrong codes is reached here only with more joins per phone than the default 3/hour.
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE": "100/minute",
        **extra,
    }


@pytest.fixture(scope="module")
def code_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    with running_api(database_url, redis_url, e2e_home, **api_env()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    opened = open_pool(database_url, size=2)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def worker(redis_url: str, pool: ConnectionPool, provider: ProviderServer) -> Iterator[None]:
    """``smartqueue jobs``' delivery actor on the API's broker, in this process, with Twilio's
    SMS channel pointed at the local server."""
    settings = load_settings({"SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.05"}).notify
    broker = delivery_broker(redis_url, settings)
    sms = TwilioChannel(account_sid=SID, auth_token=TOKEN, sms_sender=SENDER, base_url=provider.url)
    DeliveryJobs(broker, PostgresLedger(pool), {"sms": sms})
    running = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=1, worker_timeout=50)
    running.start()
    yield
    running.stop()
    broker.close()
    sms.close()


def admin_of(base_url: str, database_url: str, redis_url: str, home: Path) -> Iterator[Session]:
    tenant: Tenant = create_tenant(database_url, home, redis_url)
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        yield login(client, tenant, tenant.admin_email, tenant.admin_password)


@pytest.fixture
def admin(
    code_api: str, database_url: str, redis_url: str, e2e_home: Path, projections: ReadModels
) -> Iterator[Session]:
    yield from admin_of(code_api, database_url, redis_url, e2e_home)


def a_phone() -> tuple[str, str]:
    """A French mobile number no other test uses: as typed, and in E.164. In the 06 12 range,
    which is allocated: a random 06 9x number is not a valid French mobile."""
    digits = f"12{uuid.uuid4().int % 10**6:06d}"
    return f"+33 6 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}", f"+336{digits}"


class Customer:
    """Someone on the join page: no token, an address of their own."""

    def __init__(self, admin: Session) -> None:
        self.client = admin.client
        raw = uuid.uuid4().bytes
        self.address = f"10.{raw[0]}.{raw[1]}.{raw[2]}"
        floor = open_floor(admin)
        admin.settle("directory")
        self.site = f"{admin.tenant.slug}/sites/{floor.site['id']}"
        self.service_id = floor.service["id"]

    def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self.client.post(
            f"{API}/public/{self.site}/{path}",
            json=body,
            headers={"X-Forwarded-For": self.address, **headers},
        )

    def ask_code(self, phone: str, language: str = "fr") -> httpx.Response:
        return self.post("join/code/", {"phone": phone, "language": language})

    def join(self, phone: str | None, code: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"service_id": self.service_id, "language": "fr"}
        if phone is not None:
            body["phone"] = phone
        if code is not None:
            body["code"] = code
        return self.post("join/", body)


def codes_on(admin: Session) -> None:
    saved = admin.request("PUT", "public-join-settings/", json={"join_code": "sms"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["join_code"] == "sms"


def wait_for(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def sms_to(provider: ProviderServer, e164: str, count: int = 1) -> list[dict[str, list[str]]]:
    """The SMS forms the provider received for ``e164``, once ``count`` arrived."""

    def arrived() -> list[dict[str, list[str]]] | None:
        forms = [seen.form() for seen in provider.requests_to(MESSAGES)]
        mine = [form for form in forms if form["To"] == [e164]]
        return mine if len(mine) >= count else None

    return wait_for(arrived)


def code_in(form: dict[str, list[str]]) -> str:
    found = re.search(r"\b(\d{6})\b", form["Body"][0])
    assert found, form
    return found.group(1)


def test_a_join_with_the_code_from_the_sms_succeeds_once(
    admin: Session, provider: ProviderServer, worker: None
) -> None:
    assert admin.ok("GET", "public-join-settings/") == {"join_code": "off", "updated_at": None}
    customer = Customer(admin)
    codes_on(admin)
    site = admin.client.get(f"{API}/public/{customer.site}/")
    assert site.json()["join_code"] == "sms"
    typed, e164 = a_phone()

    assert_problem(customer.join(typed), 422, "join_code_required")
    assert_problem(customer.join(None), 422, "join_code_required")
    sent = customer.ask_code(typed, language="fr")
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"expires_in_seconds": 600, "attempts": 5}

    [form] = sms_to(provider, e164)
    assert form["From"] == [SENDER]
    code = code_in(form)
    assert form["Body"] == [
        f"Head office : votre code pour prendre un ticket est {code}. Valable 10 min."
    ]
    wrong = "000000" if code != "000000" else "111111"
    refused = assert_problem(customer.join(typed, wrong), 403, "join_code_invalid")
    assert "4 attempts left" in refused["detail"]

    joined = customer.join(typed, code)
    assert joined.status_code == 201, joined.text
    assert joined.json()["ticket"]["number"] == "A-001"
    assert_problem(customer.join(typed, code), 403, "join_code_invalid")  # used up

    def ledger_sent() -> list[dict] | None:
        items = admin.page("notifications/?channel=sms")["items"]
        return items if items and items[0]["status"] == "sent" else None

    [entry] = wait_for(ledger_sent)
    assert (entry["kind"], entry["ticket_id"], entry["attempts"]) == ("join_code", None, 1)


def test_five_wrong_codes_lock_the_phone_until_a_new_code_and_codes_are_rate_limited(
    admin: Session, provider: ProviderServer, worker: None
) -> None:
    customer = Customer(admin)
    codes_on(admin)
    typed, e164 = a_phone()
    assert customer.ask_code(typed, language="en").status_code == 202
    code = code_in(sms_to(provider, e164)[0])
    assert "your code to take a ticket is" in sms_to(provider, e164)[0]["Body"][0]

    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        refused = assert_problem(customer.join(typed, wrong), 403, "join_code_invalid")
        assert f"{left} attempt" in refused["detail"] or "no attempts left" in refused["detail"]
    locked = customer.join(typed, code)
    assert_problem(locked, 429, "join_code_locked")
    assert 0 < int(locked.headers["Retry-After"]) <= 600

    assert customer.ask_code(typed).status_code == 202
    fresh = code_in(sms_to(provider, e164, count=2)[1])
    assert customer.join(typed, fresh).status_code == 201

    assert customer.ask_code(typed).status_code == 202  # the third code this minute
    limited = assert_problem(customer.ask_code(typed), 429)
    assert "to this phone" in limited["detail"]


def test_with_codes_off_no_code_is_sent_and_joins_work_as_before(admin: Session) -> None:
    customer = Customer(admin)
    typed, _ = a_phone()
    assert "join_code" not in admin.client.get(f"{API}/public/{customer.site}/").json()

    assert_problem(customer.ask_code(typed), 409, "join_code_off")
    assert customer.join(typed).status_code == 201
    assert_problem(customer.ask_code("12"), 422)
    assert_problem(admin.request("PUT", "public-join-settings/", json={"join_code": "email"}), 400)


@pytest.fixture
def short_codes_admin(
    database_url: str, redis_url: str, e2e_home: Path, projections: ReadModels
) -> Iterator[Session]:
    env = api_env(SMARTQUEUE_PUBLIC_JOIN_CODE_TTL_SECONDS="1")
    with running_api(database_url, redis_url, e2e_home, **env) as base_url:
        yield from admin_of(base_url, database_url, redis_url, e2e_home)


def test_an_expired_code_is_refused(
    short_codes_admin: Session, provider: ProviderServer, worker: None
) -> None:
    admin = short_codes_admin
    customer = Customer(admin)
    codes_on(admin)
    typed, e164 = a_phone()
    # No language in the body: the request's Accept-Language picks the SMS's.
    sent = customer.post("join/code/", {"phone": typed}, **{"Accept-Language": "fr-CA,en;q=0.5"})
    assert sent.json()["expires_in_seconds"] == 1
    [form] = sms_to(provider, e164)
    assert "votre code pour prendre un ticket" in form["Body"][0]
    code = code_in(form)
    time.sleep(1.5)

    refused = assert_problem(customer.join(typed, code), 403, "join_code_invalid")
    assert "expired" in refused["detail"]
