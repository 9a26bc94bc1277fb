"""Auto no-show on real dramatiq workers, Redis and PostgreSQL: the delayed job marks an
unanswered call no-show once, with two jobs workers, across a restart of the workers in the
middle of the delay; a ticket that moved on is left alone; the notifier schedules the job
from the ``Ticket.Called`` it reads on Kafka when the queue has a delay; and a call no notifier
read is marked by the worker's sweep, once."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from application.call_expiry import CallExpiry
from application.notifications import NotificationFacts
from application.views import TicketView
from infrastructure.container import Container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.jobs.auto_no_show import AutoNoShowJobs
from infrastructure.jobs.timed import QUEUE
from infrastructure.notify.jobs import DeliveryJobs, delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.notifier import Notifier
from infrastructure.read_models.overdue_calls import PostgresOverdueCalls
from infrastructure.roles.worker import PeriodicJob, Worker
from infrastructure.settings import load_settings
from interfaces.worker_cli import worker_jobs
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import relay_in_thread_until
from tests.integration.ticket_history import tickets_runner

pytestmark = pytest.mark.integration

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

NOTIFY = load_settings({}).notify


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class JobsProcess:
    """What one ``smartqueue jobs`` process runs of this: a broker (Redis client) of its own
    and a dramatiq worker on the timed queue."""

    def __init__(self, redis_url: str, namespace: str, container: Container) -> None:
        self.broker = delivery_broker(redis_url, NOTIFY, namespace=namespace)
        self.jobs = AutoNoShowJobs(self.broker, container.tickets)
        self.worker = dramatiq.Worker(
            self.broker, queues={QUEUE}, worker_threads=2, worker_timeout=50
        )
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.broker.close()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def scheduler(redis_url: str, namespace: str) -> Iterator[AutoNoShowJobs]:
    """The scheduling side (the notifier's): sends, runs nothing."""
    broker = delivery_broker(redis_url, NOTIFY, namespace=namespace)
    yield AutoNoShowJobs(broker, None)
    broker.close()


@pytest.fixture
def start_jobs(
    redis_url: str, namespace: str, container: Container
) -> Iterator[Callable[[], JobsProcess]]:
    started: list[JobsProcess] = []

    def start() -> JobsProcess:
        started.append(JobsProcess(redis_url, namespace, container))
        return started[-1]

    yield start
    for process in started:
        if process.worker.consumers:
            process.stop()


def call_one(world: TenantWorld) -> tuple[uuid.UUID, TicketView]:
    app = world.container
    agent_id = world.add_available_agent()
    app.tickets.issue_ticket(world.context, world.queue_id)
    called = app.staffing.call_next(world.context, agent_id, world.queue_id)
    return agent_id, app.tickets.get_ticket(world.tenant_id, called.id)


def event_types(world: TenantWorld, ticket_id: uuid.UUID) -> list[str]:
    return [type(e).__qualname__ for e in world.container.app.events.get(ticket_id)]


def test_an_unanswered_call_becomes_a_no_show_once_with_two_workers_restarted_mid_delay(
    world: TenantWorld, scheduler: AutoNoShowJobs, start_jobs: Callable[[], JobsProcess]
) -> None:
    app = world.container
    first, second = start_jobs(), start_jobs()
    agent_id, ticket = call_one(world)
    assert ticket.called_at is not None
    delay = timedelta(seconds=3)

    # Scheduled twice, as a Kafka record the notifier reads again after a crash.
    scheduler.schedule(world.tenant_id, ticket.id, ticket.called_at, delay)
    scheduler.schedule(world.tenant_id, ticket.id, ticket.called_at, delay)
    time.sleep(1.0)
    first.stop()  # both workers go away in the middle of the delay
    second.stop()
    assert app.tickets.get_ticket(world.tenant_id, ticket.id).status == "called"
    third, fourth = start_jobs(), start_jobs()

    eventually(lambda: len(third.jobs.outcomes) + len(fourth.jobs.outcomes) == 2)
    assert app.tickets.get_ticket(world.tenant_id, ticket.id).status == "no_show"
    assert event_types(world, ticket.id).count("Ticket.MarkedNoShow") == 1
    assert [*first.jobs.outcomes, *second.jobs.outcomes] == []
    outcomes = sorted(third.jobs.outcomes + fourth.jobs.outcomes)
    assert outcomes[0] == "no_show"
    assert outcomes[1].startswith("skipped: cannot mark no show a ticket that is no_show")
    [marked] = [
        e for e in app.app.events.get(ticket.id) if type(e).__qualname__ == "Ticket.MarkedNoShow"
    ]
    assert marked.at >= ticket.called_at + delay
    assert marked.metadata["actor_role"] == "system"
    assert app.staffing.get_agent(world.tenant_id, agent_id).current_ticket_id is None


def test_a_started_or_recalled_ticket_is_left_alone_by_the_job_of_its_first_call(
    world: TenantWorld, scheduler: AutoNoShowJobs, start_jobs: Callable[[], JobsProcess]
) -> None:
    app = world.container
    jobs = start_jobs()
    _, started = call_one(world)
    _, recalled = call_one(world)
    assert started.called_at is not None and recalled.called_at is not None
    app.tickets.start_ticket(world.context, started.id)
    app.tickets.recall_ticket(world.context, recalled.id)

    scheduler.schedule(world.tenant_id, started.id, started.called_at, timedelta(seconds=0.5))
    scheduler.schedule(world.tenant_id, recalled.id, recalled.called_at, timedelta(seconds=0.5))

    eventually(lambda: len(jobs.jobs.outcomes) == 2)
    assert all(outcome.startswith("skipped") for outcome in jobs.jobs.outcomes)
    assert app.tickets.get_ticket(world.tenant_id, started.id).status == "serving"
    assert app.tickets.get_ticket(world.tenant_id, recalled.id).status == "called"


def test_the_notifier_schedules_the_no_show_of_a_call_in_a_queue_with_a_delay(
    world: TenantWorld,
    container: Container,
    kafka_bootstrap: str,
    redis_url: str,
    namespace: str,
    start_jobs: Callable[[], JobsProcess],
) -> None:
    app = world.container
    jobs = start_jobs()
    app.queues.reconfigure_queue(world.context, world.queue_id, auto_no_show_minutes=1)
    quiet = world.open_queue()  # no delay: its calls are never expired
    broker = delivery_broker(redis_url, NOTIFY, namespace=namespace)
    ledger = PostgresLedger(container.pool)
    # The scheduler's clock runs 59 s ahead: the one-minute delay ends a second after the call.
    ahead = AutoNoShowJobs(broker, None, clock=lambda: datetime.now(UTC) + timedelta(seconds=59))
    settings = load_settings({"SMARTQUEUE_NOTIFIER_GROUP": f"n-{uuid.uuid4().hex[:8]}"}).notify
    kafka = dataclasses.replace(container.settings.kafka, bootstrap_servers=kafka_bootstrap)
    facts = NotificationFacts(app.tickets, app.queues, app.catalogue, app.customers)
    notifier = Notifier(
        facts, ledger, DeliveryJobs(broker, ledger, {}), kafka, settings, no_shows=ahead
    )
    relay_in_thread_until(container, kafka_bootstrap, container.app.recorder.max_notification_id())
    halt = threading.Event()
    thread = threading.Thread(target=notifier.run, args=(halt,), daemon=True)
    thread.start()
    try:
        eventually(lambda: bool(notifier.pinned))
        _, expiring = call_one(world)
        agent_id = world.add_available_agent()
        app.tickets.issue_ticket(world.context, quiet)
        kept = app.staffing.call_next(world.context, agent_id, quiet)
        relay_in_thread_until(
            container, kafka_bootstrap, container.app.recorder.max_notification_id()
        )

        eventually(lambda: "no_show" in jobs.jobs.outcomes)
        assert app.tickets.get_ticket(world.tenant_id, expiring.id).status == "no_show"
        time.sleep(1.0)
        assert jobs.jobs.outcomes == ["no_show"]
        assert app.tickets.get_ticket(world.tenant_id, kept.id).status == "called"
    finally:
        halt.set()
        thread.join(30)
        broker.close()


def project(container: Container) -> None:
    """The projections role's work: the tickets and directory read models catch up."""
    tickets_runner(container).catch_up(container.read_engine)
    directory = read_models()["directory"]
    runner = ProjectionRunner(directory, container.app.recorder, container.app.mapper)
    runner.catch_up(container.read_engine)


SKEW = timedelta(seconds=57)
"""The sweep's clock runs this far ahead: a one-minute delay ends 3 s after the call."""


def test_a_call_no_notifier_read_is_marked_no_show_by_the_worker_sweep_once(
    world: TenantWorld,
    container: Container,
    scheduler: AutoNoShowJobs,
    start_jobs: Callable[[], JobsProcess],
) -> None:
    app = world.container
    jobs = [start_jobs(), start_jobs()]  # two jobs workers, and no notifier
    assert "auto-no-show" in [job.name for job in worker_jobs(container)]
    app.queues.reconfigure_queue(world.context, world.queue_id, auto_no_show_minutes=1)
    kept_queue = world.open_queue()  # no delay: its calls are never expired
    _, ticket = call_one(world)
    agent_id = world.add_available_agent()
    app.tickets.issue_ticket(world.context, kept_queue)
    kept = app.staffing.call_next(world.context, agent_id, kept_queue)
    assert ticket.called_at is not None
    project(container)

    ahead = CallExpiry(
        PostgresOverdueCalls(container.read_engine),
        container.tickets,
        clock=lambda: datetime.now(UTC) + SKEW,
    )
    worker = Worker(container.database_url, [PeriodicJob("auto-no-show", 0.2, ahead.sweep)])
    halt = threading.Event()
    thread = threading.Thread(target=worker.run, args=(halt,), daemon=True)
    thread.start()
    try:
        eventually(lambda: app.tickets.get_ticket(world.tenant_id, ticket.id).status == "no_show")
        # A notifier that reads the call late schedules its job too: it finds nothing to do.
        scheduler.schedule(world.tenant_id, ticket.id, ticket.called_at, timedelta(0))
        eventually(lambda: sum(len(j.jobs.outcomes) for j in jobs) == 1)
        time.sleep(1.0)  # more sweep rounds
    finally:
        halt.set()
        thread.join(10)

    assert event_types(world, ticket.id).count("Ticket.MarkedNoShow") == 1
    [marked] = [
        e for e in app.app.events.get(ticket.id) if type(e).__qualname__ == "Ticket.MarkedNoShow"
    ]
    assert marked.at >= ticket.called_at + timedelta(minutes=1) - SKEW
    assert marked.metadata["actor_role"] == "system"
    [outcome] = [outcome for j in jobs for outcome in j.jobs.outcomes]
    assert outcome.startswith("skipped: cannot mark no show a ticket that is no_show")
    assert app.tickets.get_ticket(world.tenant_id, kept.id).status == "called"
