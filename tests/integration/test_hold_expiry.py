"""Hold expiry on real dramatiq workers, Redis and PostgreSQL: the delayed job a hold sends
records its expiry once with two workers (and the job sent twice, as a retried hold does), the
availability read model frees the place again; a hold booked meanwhile is left alone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dramatiq
import pytest

from application.appointments import Appointments
from infrastructure.container import Container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.jobs.hold_expiry import ACTOR, HoldExpiryJobs
from infrastructure.jobs.timed import QUEUE
from infrastructure.notify.jobs import delivery_broker
from infrastructure.read_models.availability import PostgresAvailability
from infrastructure.settings import load_settings
from interfaces.jobs_cli import notifications_of
from tests.integration.conftest import TenantWorld, on_own_database

pytestmark = pytest.mark.integration
# A small log of its own: the availability projection catches up over it.
container, world = on_own_database()

NOTIFY = load_settings({}).notify
PARIS = ZoneInfo("Europe/Paris")
# The clocks of the scheduler and of the workers run this far ahead: a one-minute hold ends, for
# them, a second or two after it was made.
SHIFT = timedelta(seconds=58)


class Ahead:
    """The application with its clock moved ``shift`` ahead."""

    def __init__(self, app: Any, shift: timedelta) -> None:
        self._app = app
        self._shift = shift

    def clock(self) -> datetime:
        return self._app.clock() + self._shift

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


class JobsProcess:
    """One ``smartqueue jobs`` process: its own broker and a dramatiq worker on the timed queue."""

    def __init__(self, redis_url: str, namespace: str, store: Any) -> None:
        self.broker = delivery_broker(redis_url, NOTIFY, namespace=namespace)
        self.jobs = HoldExpiryJobs(self.broker, lambda: Appointments(store))
        self.worker = dramatiq.Worker(
            self.broker, queues={QUEUE}, worker_threads=2, worker_timeout=50
        )
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        self.broker.close()


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture
def workers(redis_url: str, container: Container) -> Iterator[tuple[str, list[JobsProcess]]]:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    started = [JobsProcess(redis_url, namespace, Ahead(container.app, SHIFT)) for _ in range(2)]
    yield namespace, started
    for process in started:
        process.stop()


def free_places(container: Container, world: TenantWorld, start: datetime) -> int:
    model = read_models()["availability"]
    ProjectionRunner(model, container.app.recorder, container.app.mapper).catch_up(
        container.read_engine
    )
    day = start.astimezone(PARIS).date()
    taken = PostgresAvailability(container.read_engine).taken(
        world.tenant_id, world.site_id, world.service_id, day, day
    )
    return 1 - taken.get(start.astimezone(UTC).isoformat(), 0)


def test_an_unbooked_hold_expires_once_with_two_workers_and_frees_its_place(
    world: TenantWorld,
    container: Container,
    redis_url: str,
    workers: tuple[str, list[JobsProcess]],
) -> None:
    namespace, processes = workers
    context = world.context
    container.catalogue.change_service(
        context, world.service_id, booking={"capacity": 1, "hold_minutes": 1}
    )
    day = date.today() + timedelta(days=2)
    lapsed_start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)
    kept_start = lapsed_start + timedelta(minutes=15)
    broker = delivery_broker(redis_url, NOTIFY, namespace=namespace)
    scheduler = HoldExpiryJobs(broker, None, clock=lambda: datetime.now(UTC) + SHIFT)
    appointments = Appointments(container.app, hold_expiries=scheduler)
    try:
        lapsed = appointments.hold_slot(context, world.site_id, world.service_id, lapsed_start)
        kept = appointments.hold_slot(context, world.site_id, world.service_id, kept_start)
        assert free_places(container, world, lapsed_start) == 0
        # Sent again, as a hold retried after a lost race sends it per attempt.
        scheduler.schedule_hold_expiry(
            world.tenant_id, lapsed.schedule_id, lapsed.id, lapsed.expires_at
        )
        booked = appointments.book_hold(context, kept.schedule_id, kept.id)

        def outcomes() -> list[str]:
            return sorted(o for p in processes for o in p.jobs.outcomes)

        eventually(lambda: len(outcomes()) == 3)
    finally:
        broker.close()
    assert outcomes() == ["expired", "skipped: no live hold", "skipped: no live hold"]
    events = container.app.events.get(lapsed.schedule_id)
    released = [e for e in events if type(e).__qualname__ == "Schedule.HoldReleased"]
    assert [(e.hold_id, e.expired) for e in released] == [(lapsed.id, True)]
    assert released[0].metadata["actor_role"] == "system"
    assert free_places(container, world, lapsed_start) == 1
    assert free_places(container, world, kept_start) == 0
    assert appointments.get_appointment(world.tenant_id, booked.id).status == "booked"


def test_the_jobs_workers_run_the_hold_expiry_actor(container: Container) -> None:
    notifications = notifications_of(container)
    try:
        assert notifications.jobs.broker.get_actor(ACTOR).queue_name == QUEUE
    finally:
        notifications.close()
