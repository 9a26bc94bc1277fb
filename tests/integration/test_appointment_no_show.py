"""Appointment no-show on real dramatiq workers, Redis and PostgreSQL: the delayed job a booking
sends marks the appointment no-show once its check-in window has closed, once with two workers
(and the job sent twice, as a retried booking does); an appointment checked in meanwhile is
left alone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dramatiq
import pytest

from application.appointments import Appointments
from application.check_in import CheckIns
from infrastructure.container import Container
from infrastructure.jobs.appointment_no_show import ACTOR, AppointmentNoShowJobs
from infrastructure.jobs.timed import QUEUE
from infrastructure.notify.jobs import delivery_broker
from infrastructure.settings import load_settings
from interfaces.jobs_cli import notifications_of
from tests.integration.conftest import TenantWorld

pytestmark = pytest.mark.integration

NOTIFY = load_settings({}).notify
PARIS = ZoneInfo("Europe/Paris")


class Ahead:
    """The application with its clock moved ``shift`` ahead: the window of an appointment a
    few minutes away closes within the test."""

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
        self.jobs = AppointmentNoShowJobs(self.broker, CheckIns(store))
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


def next_slot() -> datetime:
    now = datetime.now(PARIS)
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return start + timedelta(minutes=15)


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def two_workers(
    redis_url: str, namespace: str, container: Container
) -> Iterator[Callable[[timedelta], list[JobsProcess]]]:
    started: list[JobsProcess] = []

    def start(shift: timedelta) -> list[JobsProcess]:
        store = Ahead(container.app, shift)
        started.extend(JobsProcess(redis_url, namespace, store) for _ in range(2))
        return started

    yield start
    for process in started:
        process.stop()


def test_an_appointment_not_checked_in_becomes_a_no_show_once_with_two_workers(
    world: TenantWorld,
    container: Container,
    redis_url: str,
    namespace: str,
    two_workers: Callable[[timedelta], list[JobsProcess]],
) -> None:
    context = world.context
    container.catalogue.change_service(
        context, world.service_id, booking={"capacity": 2, "late_minutes": 0}
    )
    start = next_slot()
    # Clocks moved so that the window (closing at the start) closes a second from now.
    shift = start.astimezone(UTC) - datetime.now(UTC) - timedelta(seconds=1)
    broker = delivery_broker(redis_url, NOTIFY, namespace=namespace)
    scheduler = AppointmentNoShowJobs(broker, None, clock=lambda: datetime.now(UTC) + shift)
    booking = Appointments(container.app, scheduler)
    try:
        missed = booking.book_appointment(context, world.site_id, world.service_id, start)
        came = booking.book_appointment(context, world.site_id, world.service_id, start)
        # Sent again, as a booking retried after a lost race sends it per attempt.
        scheduler.schedule_no_show(world.tenant_id, missed.id, start)
        CheckIns(Ahead(container.app, shift)).check_in_appointment(context, came.id)
        workers = two_workers(shift)

        def outcomes() -> list[str]:
            return sorted(o for w in workers for o in w.jobs.outcomes)

        eventually(lambda: len(outcomes()) == 3)
    finally:
        broker.close()
    assert outcomes()[0] == "no_show"
    assert all(o.startswith("skipped: cannot mark no-show") for o in outcomes()[1:])
    assert booking.get_appointment(world.tenant_id, missed.id).status == "no_show"
    assert booking.get_appointment(world.tenant_id, came.id).status == "checked_in"
    events = container.app.events.get(missed.id)
    [marked] = [e for e in events if type(e).__qualname__ == "Appointment.MarkedNoShow"]
    assert marked.metadata["actor_role"] == "system"
    assert marked.at >= start


def test_the_jobs_workers_run_the_appointment_no_show_actor(container: Container) -> None:
    notifications = notifications_of(container)
    try:
        assert notifications.jobs.broker.get_actor(ACTOR).queue_name == QUEUE
    finally:
        notifications.close()
