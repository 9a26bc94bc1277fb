"""``smartqueue notifier`` and ``smartqueue jobs`` as the processes an operator runs, configured
by environment variables only: a called customer gets one email from a real SMTP server, even
when the notifier is killed (SIGKILL) and started again."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infrastructure.container import Container
from tests.conftest import owner_url
from tests.e2e.support import smartqueue_executable
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import relay_in_thread_until
from tests.provider_servers import SmtpServer

pytestmark = pytest.mark.integration

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


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
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _print_state(container: Container, redis_url: str, world: TenantWorld) -> None:
    """The tenant's ledger and the job queues, for a failure's report."""
    import psycopg

    from infrastructure.redis.server import connect_redis

    with psycopg.connect(owner_url(container.database_url)) as connection:
        rows = connection.execute(
            "SELECT kind, channel, recipient, status, attempts, error, created_at"
            " FROM notification_ledger WHERE tenant_id = %s",
            (world.context.tenant_id,),
        ).fetchall()
    print("--- ledger", *rows, sep="\n")
    client = connect_redis(redis_url)
    for key in sorted(client.keys("smartqueue-jobs*")):
        kind = client.type(key).decode()
        size = {"list": client.llen, "zset": client.zcard, "hash": client.hlen}.get(kind)
        print("---", key.decode(), kind, size(key) if size else "")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def role_env(
    container: Container, kafka_bootstrap: str, redis_url: str, smtp: SmtpServer, tmp_path: Path
) -> dict[str, str]:
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
        "SMARTQUEUE_SMTP_HOST": "127.0.0.1",
        "SMARTQUEUE_SMTP_PORT": str(smtp.port),
        "SMARTQUEUE_SMTP_SECURITY": "none",
        "SMARTQUEUE_SMTP_SENDER": "Town hall <queue@example.org>",
    }


def test_the_roles_deliver_one_email_per_message_across_a_killed_notifier(
    container: Container,
    world: TenantWorld,
    kafka_bootstrap: str,
    smtp: SmtpServer,
    role_env: dict[str, str],
    tmp_path: Path,
) -> None:
    app = container

    def relay() -> None:
        relay_in_thread_until(
            container, kafka_bootstrap, container.app.recorder.max_notification_id() or 0
        )

    relay()  # the topics exist before the notifier subscribes
    jobs = Role("jobs", role_env, tmp_path)
    notifier = Role("notifier", role_env, tmp_path)
    try:
        customer = app.customers.register_customer(
            world.context, "Ana", email="ana@example.org", channels=["email"], language="en"
        )
        agent_id = world.add_available_agent()
        app.staffing.set_agent_status(world.context, agent_id, "available", counter="7")
        eventually(lambda: "gateway group starts" in notifier.text())  # it holds its partitions
        app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
        app.tickets.issue_ticket(world.context, world.queue_id)  # no customer: no message
        relay()
        eventually(
            lambda: len(smtp.to("ana@example.org")) == 2
        )  # the number, and "your turn is near"

        notifier.kill()
        called = app.staffing.call_next(world.context, agent_id, world.queue_id)
        relay()
        notifier = Role("notifier", role_env, tmp_path)

        eventually(lambda: len(smtp.to("ana@example.org")) == 3)
        time.sleep(2.0)  # any second copy would arrive by now
    except AssertionError:
        for role in (notifier, jobs):  # what the roles said, for the report
            print(f"--- {role.log.name}\n{role.text()[-6000:]}")
        _print_state(container, role_env["REDIS_URL"], world)
        raise
    finally:
        notifier.stop()
        jobs.stop()

    assert called is not None
    subjects = sorted(d.message["Subject"] for d in smtp.to("ana@example.org"))
    assert subjects == sorted(
        [
            f"Your ticket {called.number}",
            f"{called.number}: your turn is near",
            f"{called.number}: it's your turn, counter 7",
        ]
    )
    assert {tuple(d.rcpt_tos) for d in smtp.to("ana@example.org")} == {("ana@example.org",)}
