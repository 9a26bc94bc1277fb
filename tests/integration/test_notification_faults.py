"""Customer messages survive faults (issue 14): ``smartqueue notifier`` SIGKILLed five times
during 2,000 events, the SMS provider answering 500 to a fifth of its calls and down for 30 s,
and still every expected message reaches the provider exactly once (the ledger and the provider
agree), and none reaches a customer in quiet hours.

Real processes, as an operator runs them: ``smartqueue relay`` (the log to Kafka),
``smartqueue notifier`` and ``smartqueue jobs``, configured by environment variables only, on a
database and a broker of this module's own; SMS go to a local server speaking Twilio's Messages
API (:class:`TwilioMessages`). The load and the messages it must cause are
:mod:`tests.integration.notification_script`'s.
"""

from __future__ import annotations

import base64
import os
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from application.paging import MAX_PAGE_SIZE, PageRequest
from domain.delivery import DeliveryStatus
from infrastructure.container import Container
from infrastructure.kafka.contract import topics
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry
from tests.conftest import owner_url
from tests.e2e.support import smartqueue_executable
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import RelayProcess, wait_relayed
from tests.integration.notification_script import Desk, Person, Script
from tests.provider_servers import ProviderServer, Reply, Seen

pytestmark = pytest.mark.integration

container, world = on_own_database()
kafka_bootstrap = on_own_broker()

SID = "AC" + "14" * 16
TOKEN = "twilio-token-of-the-fault-test"
SMS_FROM = "+15005550006"
CALLBACK = "https://queue.example.com/api/v1/callbacks/twilio/status/"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
SEED = 14
EVENTS = 2_000
KILL_AT = (200, 600, 1_000, 1_400, 1_800)
"""Events written by the load when the notifier is killed, each time."""
OUTAGE_AT = 800
OUTAGE_SECONDS = 30.0
FAILING_SHARE = 0.2
NEAR_POSITION = 3
SENT = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
KINDS = {
    "ticket_issued",
    "turn_near",
    "called",
    "recalled",
    "no_show",
    "cancelled",
    "transferred",
    "feedback_request",
}


class TwilioMessages:
    """Twilio's Messages API, strict: the account's basic auth, a form of exactly ``To``,
    ``From``, ``Body`` and ``StatusCallback``; answers ``201`` with a new SID and remembers
    the form it accepted under it."""

    def __init__(self) -> None:
        self.accepted: dict[str, dict[str, str]] = {}
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, seen: Seen) -> Reply:
        auth = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if seen.method != "POST" or seen.path != MESSAGES:
            return self._refuse(404, f"{seen.method} {seen.path}")
        if seen.headers.get("authorization") != auth:
            return self._refuse(401, "no basic auth")
        if seen.headers.get("content-type") != "application/x-www-form-urlencoded":
            return self._refuse(400, f"content type {seen.headers.get('content-type')}")
        form = seen.form()
        if sorted(form) != ["Body", "From", "StatusCallback", "To"]:
            return self._refuse(400, f"fields {sorted(form)}")
        fields = {name: values[0] for name, values in form.items() if len(values) == 1}
        if len(fields) != 4 or fields["From"] != SMS_FROM or fields["StatusCallback"] != CALLBACK:
            return self._refuse(400, f"form {form}")
        if not fields["To"].startswith("+") or not fields["Body"]:
            return self._refuse(400, f"to {fields['To']!r}, body {fields['Body']!r}")
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.accepted[sid] = fields
        return Reply(201, {"sid": sid, "status": "queued", "to": fields["To"]})

    def _refuse(self, status: int, why: str) -> Reply:
        with self._lock:
            self.refused.append(why)
        return Reply(status, {"code": 21000 + status, "message": why, "status": status})


class Role:
    """A ``smartqueue <role>`` subprocess logging to a file under ``folder``."""

    def __init__(self, role: str, env: dict[str, str], folder: Path) -> None:
        self.log = folder / f"{role}-{uuid.uuid4().hex[:6]}.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [smartqueue_executable(), role], env=env, stdout=output, stderr=output
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no offsets committed."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class NotifierProgress:
    """Whether the notifiers' consumer group has handled everything on the topics: its
    committed offset is the end of every partition."""

    def __init__(self, bootstrap: str, group: str) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer
        from kafka.structs import TopicPartition

        self.group = group
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.partitions = [
            TopicPartition(topic, partition)
            for topic in topics()
            for partition in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]

    def ends(self) -> dict[object, int]:
        return self.consumer.end_offsets(self.partitions)

    def caught_up(self) -> bool:
        committed = self.admin.list_group_offsets({self.group: self.partitions})[self.group]
        for partition, end in self.ends().items():
            done = committed.get(partition)
            if end and (done is None or done.offset < end):
                return False
        return True

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def own_redis_database(redis_url: str) -> str:
    """The session's Redis server, another database: these roles' dramatiq queues are theirs."""
    if redis_url.startswith("unix://"):
        return f"{redis_url.split('?', 1)[0]}?db=14"
    return redis_url.rsplit("/", 1)[0] + "/14" if redis_url.count("/") > 2 else redis_url + "/14"


@pytest.fixture
def twilio() -> TwilioMessages:
    return TwilioMessages()


@pytest.fixture
def provider(twilio: TwilioMessages) -> Iterator[ProviderServer]:
    with ProviderServer(twilio) as server:
        yield server


@pytest.fixture
def role_env(
    container: Container, kafka_bootstrap: str, provider: ProviderServer, tmp_path: Path
) -> dict[str, str]:
    from infrastructure.redis.server import connect_redis

    redis_url = own_redis_database(container.redis_url)
    connect_redis(redis_url).flushdb()
    return {
        **os.environ,
        "DATABASE_URL": container.database_url,
        "MIGRATION_DATABASE_URL": owner_url(container.database_url),
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_HOME": str(tmp_path),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "INFO",
        "SMARTQUEUE_NOTIFIER_GROUP": f"notifier-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_TWILIO_ACCOUNT_SID": SID,
        "SMARTQUEUE_TWILIO_AUTH_TOKEN": TOKEN,
        "SMARTQUEUE_TWILIO_SMS_FROM": SMS_FROM,
        "SMARTQUEUE_TWILIO_BASE_URL": provider.url,
        "SMARTQUEUE_TWILIO_STATUS_CALLBACK_URL": CALLBACK,
        # Enough attempts, backing off to at most 3 s, to outlast the 30 s outage and the 500s.
        "SMARTQUEUE_NOTIFY_MAX_ATTEMPTS": "40",
        "SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": "0.25",
        "SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS": "3",
    }


def customers(world: TenantWorld, count: int, quiet: int) -> list[Person]:
    """SMS customers; the last ``quiet`` have quiet hours around now (two hours either side)."""
    now = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris"))  # the site's clock
    hours = {
        "start": (now - timedelta(hours=2)).strftime("%H:%M"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M"),
    }
    people = []
    for index in range(count):
        is_quiet = index >= count - quiet
        view = world.container.customers.register_customer(
            world.context,
            f"Customer {index}",
            phone=f"+3361234{index:04d}",
            channels=["sms"],
            language="fr" if index % 3 == 0 else "en",
            quiet_hours=hours if is_quiet else None,
        )
        assert view.phone is not None
        people.append(Person(view.id, view.phone, is_quiet))
    return people


def ledger_of(ledger: PostgresLedger, tenant_id: uuid.UUID) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    cursor = None
    while True:
        page = ledger.search(tenant_id, PageRequest(cursor=cursor, limit=MAX_PAGE_SIZE))
        entries += page.items
        cursor = page.next_cursor
        if cursor is None:
            return entries


def test_every_message_reaches_the_provider_once_through_kills_errors_and_an_outage(
    container: Container,
    world: TenantWorld,
    kafka_bootstrap: str,
    provider: ProviderServer,
    twilio: TwilioMessages,
    role_env: dict[str, str],
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    app = container
    rng = random.Random(SEED)
    app.notification_setup.put_settings(world.context, {}, NEAR_POSITION, None)
    people = customers(world, 40, quiet=10)
    desks = []
    second_queue = world.open_queue()
    queues = (world.queue_id, world.queue_id, second_queue, second_queue)
    for counter, queue_id in enumerate(queues, start=1):
        agent_id = world.add_available_agent()
        app.staffing.set_agent_status(world.context, agent_id, "available", counter=str(counter))
        desks.append(Desk(agent_id, queue_id, str(counter)))
    script = Script(world, desks, people, rng, NEAR_POSITION)
    recorder = app.app.recorder

    relay = RelayProcess(container.database_url, kafka_bootstrap, tmp_path)
    assert relay.wait_active(60), relay.log.read_text(errors="replace")
    assert wait_relayed(app.read_engine, app, recorder.max_notification_id() or 0, timeout=60)
    jobs = Role("jobs", role_env, tmp_path)
    notifiers = [Role("notifier", role_env, tmp_path)]
    progress = NotifierProgress(kafka_bootstrap, role_env["SMARTQUEUE_NOTIFIER_GROUP"])
    outage: dict[str, float] = {}

    def come_back() -> None:
        provider.up()
        outage["ended"] = time.monotonic()

    back_up = threading.Timer(OUTAGE_SECONDS, come_back)
    try:
        eventually(lambda: "gateway group starts" in notifiers[0].text(), 60, "notifier started")
        provider.fail_share(FAILING_SHARE, seed=SEED)
        start = recorder.max_notification_id() or 0
        kills = list(KILL_AT)
        load_began = time.monotonic()
        waits: list[float] = []
        restarts: list[float] = []
        playing = 0.0
        while (recorder.max_notification_id() or 0) - start < EVENTS:
            played = time.monotonic()
            script.play_round()
            playing += time.monotonic() - played
            killed = False
            written = (recorder.max_notification_id() or 0) - start
            if kills and written >= kills[0]:
                kills.pop(0)
                killed = True
                time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the notifier's work
                notifiers[-1].kill()
                notifiers.append(Role("notifier", role_env, tmp_path))  # as a supervisor would
            if not outage and written >= OUTAGE_AT:
                provider.down()
                outage["began"] = time.monotonic()
                back_up.start()
            head = recorder.max_notification_id() or 0
            assert wait_relayed(app.read_engine, app, head, timeout=60), "the relay is stuck"
            waited = time.monotonic()
            eventually(progress.caught_up, 90, f"notifier caught up ({notifiers[-1].log})")
            waits.append(time.monotonic() - waited)
            if killed:
                restarts.append(waits[-1])
            script.end_round()
            script.check_lines()
        load_seconds = time.monotonic() - load_began
        events = (recorder.max_notification_id() or 0) - start
        back_up.join(OUTAGE_SECONDS + 5)

        ledger = PostgresLedger(app.pool)
        quiet_ids = {person.id for person in people if person.quiet}

        def settled() -> bool:
            """The notifier has recorded everything (it caught up); the jobs have sent or
            given up on every message but those held for quiet hours."""
            entries = ledger_of(ledger, world.tenant_id)
            return all(
                e.delivery.status in (*SENT, DeliveryStatus.DEAD)
                for e in entries
                if e.customer_id not in quiet_ids
            )

        eventually(settled, 120, "every message settled")
        time.sleep(2.0)  # a second copy of any message would arrive by now
    finally:
        back_up.cancel()
        provider.up()
        for role in (*notifiers, jobs):
            role.stop()
        relay.stop()
        progress.close()

    entries = ledger_of(ledger, world.tenant_id)
    sent = [e for e in entries if e.delivery.status in SENT]
    refused = jobs.text().count("Connection refused")
    published = envelopes_on_topics(kafka_bootstrap)
    print(
        f"\nnotification faults: {events} events by the load ({published} envelopes on the"
        f" topics), {script.round} rounds, {len(script.slips)} tickets, {script.commands}"
        f" commands; {sum(script.expected.values())} messages due, {len(sent)} sent;"
        f" {len(notifiers) - 1} notifier kills; provider: {len(provider.requests)} calls,"
        f" {provider.faults_answered} answered 500, down"
        f" {outage['ended'] - outage['began']:.1f} s (refused {refused} attempts);"
        f" load {load_seconds:.1f} s, whole test {time.monotonic() - began:.1f} s; commands"
        f" {playing:.1f} s, waiting for the notifier {sum(waits):.1f} s (after kills:"
        f" {', '.join(f'{w:.1f}' for w in restarts)})"
    )
    assert events >= EVENTS and published >= events
    assert len(notifiers) - 1 == len(KILL_AT)
    # The script did exercise every kind, the quiet customers and the provider's faults.
    assert {kind for _, kind in script.expected} == KINDS
    assert any(slip.person and slip.person.quiet for slip in script.slips.values())
    assert provider.faults_answered and refused

    assert_sent_once_each(script, entries, twilio, provider)
    for role in notifiers:  # nothing was dropped as unhandleable on the way
        assert "skipped an event" not in role.text()


def assert_sent_once_each(
    script: Script, entries: list[LedgerEntry], twilio: TwilioMessages, provider: ProviderServer
) -> None:
    """The ledger says sent for exactly the messages the script caused; the provider accepted
    each once, as the ledger has it, and nothing else; nobody in quiet hours heard anything."""
    quiet = {person.id: person.phone for person in script.people if person.quiet}
    sent = [e for e in entries if e.delivery.status in SENT]
    got = Counter((e.delivery.ticket_id, e.delivery.kind.value) for e in sent)
    assert got == script.expected, (
        f"missing {script.expected - got}, unexpected {got - script.expected}"
    )
    assert not [e for e in entries if e.delivery.status not in SENT and e.customer_id not in quiet]

    assert not twilio.refused
    known = {str(e.delivery.provider_id) for e in sent}
    again = Counter((form["To"], form["Body"]) for form in twilio.accepted.values())
    assert not set(twilio.accepted) - known, (
        f"{len(set(twilio.accepted) - known)} messages accepted that the ledger does not name;"
        f" sent more than once: {sum(n - 1 for n in again.values() if n > 1)}"
    )
    assert len(twilio.accepted) == len(known) == len(sent)
    for entry in sent:
        form = twilio.accepted[str(entry.delivery.provider_id)]
        slip = script.slips[entry.delivery.ticket_id]
        assert slip.person is not None
        assert form["To"] == entry.delivery.address == slip.person.phone
        assert entry.body is not None and form["Body"] == entry.body.text
        if entry.delivery.kind.value == "feedback_request":  # names the visit by its link
            assert "/feedback/" in form["Body"]
        else:
            assert slip.number in form["Body"]

    asked = {seen.form().get("To", [""])[0] for seen in provider.requests}
    assert not set(quiet.values()) & asked
    assert not [e for e in entries if e.customer_id in quiet and e.delivery.status in SENT]


def envelopes_on_topics(bootstrap: str) -> int:
    """How many envelopes the contract's topics hold."""
    progress = NotifierProgress(bootstrap, "unused")
    try:
        return sum(progress.ends().values())
    finally:
        progress.close()


def test_the_stand_in_provider_fails_a_seeded_share_and_goes_down_on_its_own_port() -> None:
    with ProviderServer(lambda seen: Reply(201, {})) as server, httpx.Client(timeout=5) as client:
        server.fail_share(FAILING_SHARE, seed=SEED)
        codes = [client.post(f"{server.url}/x").status_code for _ in range(100)]
        draws = random.Random(SEED)
        assert codes == [500 if draws.random() < FAILING_SHARE else 201 for _ in range(100)]
        assert server.faults_answered == codes.count(500) > 0
        url, calls = server.url, len(server.requests)

        server.down()
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{url}/x", timeout=2)
        with pytest.raises(httpx.TransportError):  # the kept-alive connection is gone too
            client.post(f"{url}/x")
        assert len(server.requests) == calls

        server.up()
        assert server.url == url
        client.post(f"{url}/x")
        assert len(server.requests) == calls + 1
