"""``smartqueue worker``: periodic jobs (devices going silent), one active process at a time."""

from __future__ import annotations

import threading

import click

from infrastructure.container import Container, build_container
from infrastructure.logging import configure_logging
from infrastructure.settings import load_settings
from infrastructure.worker import PeriodicJob, Worker
from interfaces.signals import stop_on_signals


def worker_jobs(container: Container) -> list[PeriodicJob]:
    """Every periodic job of the worker role."""
    devices = container.settings.devices
    return [PeriodicJob("device-presence", devices.sweep_interval_seconds, container.devices.sweep)]


def run_worker_in_background(container: Container, stop: threading.Event) -> threading.Thread:
    """The worker role in a daemon thread of this process (``smartqueue dev``)."""
    worker = Worker(container.database_url, worker_jobs(container))
    thread = threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True)
    thread.start()
    return thread


@click.command("worker")
def worker_command() -> None:
    """Periodic jobs: record devices whose pings stopped as offline. Run as many as you like;
    one is active, the others wait as standbys."""
    stop = stop_on_signals()
    settings = load_settings()
    configure_logging(settings.log)
    container = build_container(settings)
    try:
        thread = run_worker_in_background(container, stop)
        click.echo("worker running: device-presence")
        while not stop.wait(1.0):
            pass
        thread.join(10)
    finally:
        container.close()
