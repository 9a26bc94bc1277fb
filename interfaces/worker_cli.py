"""``smartqueue worker``: periodic jobs (devices going silent), one active process at a time."""

from __future__ import annotations

import sys

import click

from infrastructure.container import Container, build_container
from infrastructure.roles.supervisor import Supervisor
from infrastructure.roles.worker import PeriodicJob, Worker
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role


def worker_jobs(container: Container) -> list[PeriodicJob]:
    """Every periodic job of the worker role."""
    devices = container.settings.devices
    return [PeriodicJob("device-presence", devices.sweep_interval_seconds, container.devices.sweep)]


def run_worker_in_background(container: Container, supervisor: Supervisor) -> Worker:
    """The worker role in a supervised thread of this process (also ``smartqueue dev``)."""
    worker = Worker(container.database_url, worker_jobs(container))
    supervisor.add("worker", worker.run)
    return worker


@click.command("worker")
def worker_command() -> None:
    """Periodic jobs: record devices whose pings stopped as offline. Run as many as you like;
    one is active, the others wait as standbys."""
    stop = stop_on_signals()
    settings = start_role().settings
    container = build_container(settings)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        run_worker_in_background(container, supervisor)
        click.echo("worker running: device-presence")
        stop.wait()
        supervisor.join(10)
    finally:
        container.close()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role
