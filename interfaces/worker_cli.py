"""``smartqueue worker``: periodic jobs (devices going silent, expired idempotency keys, calls
past their queue's auto no-show delay, appointments past their check-in window), one active
process at a time.

They stay here rather than on the dramatiq workers (``smartqueue jobs``): dramatiq has no clock,
so a periodic dramatiq job still needs one process to send it on time, which is this singleton
(a PostgreSQL advisory lock with standbys); both jobs are short, bounded and idempotent, so
sending them through Redis to another process would add a hop and a second lock (against a
tick overlapping a slow run) without removing the singleton. What is delayed work on one item
(auto no-show) is a dramatiq message (``infrastructure.jobs``); the sweep here catches the calls
no notifier read, so none is missed (``application.call_expiry``), and the appointments whose
delayed no-show job was lost (``application.appointment_sweep``).
"""

from __future__ import annotations

import sys

import click

from application.idempotency import purge_expired_keys
from infrastructure.container import Container, build_container
from infrastructure.roles.supervisor import Supervisor
from infrastructure.roles.worker import PeriodicJob, Worker
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role

PURGE_INTERVAL_SECONDS = 60.0
"""Expired keys are ignored by claims anyway: the purge only keeps the table small."""


def worker_jobs(container: Container) -> list[PeriodicJob]:
    """Every periodic job of the worker role."""
    devices = container.settings.devices
    return [
        PeriodicJob("device-presence", devices.sweep_interval_seconds, container.devices.sweep),
        PeriodicJob(
            "idempotency-purge",
            PURGE_INTERVAL_SECONDS,
            lambda: purge_expired_keys(container.idempotency),
        ),
        PeriodicJob(
            "auto-no-show",
            container.settings.notify.no_show_sweep_seconds,
            container.call_expiry.sweep,
        ),
        PeriodicJob(
            "appointment-no-show",
            container.settings.notify.appointment_no_show_sweep_seconds,
            container.appointment_sweep.sweep,
        ),
    ]


def run_worker_in_background(container: Container, supervisor: Supervisor) -> Worker:
    """The worker role in a supervised thread of this process (also ``smartqueue dev``)."""
    worker = Worker(container.database_url, worker_jobs(container))
    supervisor.add("worker", worker.run)
    return worker


@click.command("worker")
def worker_command() -> None:
    """Periodic jobs: record devices whose pings stopped as offline, delete expired
    idempotency keys, mark no-show the calls past their queue's delay and the appointments past
    their check-in window. Run as many as you like;
    one is active, the others wait as standbys."""
    stop = stop_on_signals()
    settings = start_role().settings
    container = build_container(settings)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        run_worker_in_background(container, supervisor)
        click.echo(
            "worker running: device-presence, idempotency-purge, auto-no-show, appointment-no-show"
        )
        stop.wait()
        supervisor.join(10)
    finally:
        container.close()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role
