"""``smartqueue jobs``: dramatiq workers delivering notifications; ``jobs dead-letters`` lists
the messages that could not be delivered and ``jobs retry ID`` queues one of them again."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from uuid import UUID

import click
import dramatiq

from application.appointments import Appointments
from infrastructure.container import Container, build_container, hold_expiry_jobs
from infrastructure.jobs.appointment_no_show import AppointmentNoShowJobs
from infrastructure.jobs.timed import QUEUE as TIMED
from infrastructure.notify.jobs import QUEUE
from infrastructure.notify.webhook_jobs import QUEUE as WEBHOOK_QUEUE
from infrastructure.notify.wiring import Notifications, build_notifications
from infrastructure.roles.supervisor import Supervisor
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role


def notifications_of(container: Container) -> Notifications:
    """The ledger, delivery and auto no-show jobs on the container's pool and Redis, and the
    appointment no-show and hold expiry actors on the same broker (so these workers run them)."""
    notifications = build_notifications(
        container.pool,
        container.redis_url,
        container.settings.notify,
        container.tickets,
        appointments=Appointments(container.app),
    )
    AppointmentNoShowJobs(notifications.jobs.broker, container.check_ins, clock=container.app.clock)
    hold_expiry_jobs(notifications.jobs.broker, container.app)
    return notifications


def run_jobs_in_background(
    notifications: Notifications, threads: int, supervisor: Supervisor
) -> None:
    """dramatiq workers in a supervised thread of this process (also ``smartqueue dev``)."""

    def work(stop: threading.Event) -> None:
        worker = dramatiq.Worker(
            notifications.jobs.broker,
            queues={QUEUE, WEBHOOK_QUEUE, TIMED},
            worker_threads=threads,
        )
        worker.start()
        try:
            stop.wait()
        finally:
            worker.stop()

    supervisor.add("jobs", work)


@click.group("jobs", invoke_without_command=True)
@click.pass_context
def jobs_command(ctx: click.Context) -> None:
    """Deliver notifications and mark called tickets nobody started as no-shows (dramatiq
    workers on Redis). Run as many as you like: each
    message is taken by one worker, and the ledger makes a redelivered one send nothing."""
    if ctx.invoked_subcommand is not None:
        return
    stop = stop_on_signals()
    settings = start_role().settings
    container = build_container(settings)
    notifications = notifications_of(container)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        run_jobs_in_background(notifications, settings.notify.jobs_threads, supervisor)
        configured = ", ".join(sorted(notifications.jobs.channels)) or "none"
        click.echo(
            f"jobs running: {settings.notify.jobs_threads} threads; providers for {configured}"
            " (other channels go to the console)",
            err=True,
        )
        stop.wait()
        supervisor.join(10)
    finally:
        notifications.close()
        container.close()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role


@jobs_command.command("dead-letters")
@click.option("--limit", default=100, show_default=True, help="At most this many, newest first.")
def dead_letters_command(limit: int) -> None:
    """List the dead messages of every tenant (no address or body): id, tenant, kind, channel,
    attempts, when, and the last error."""
    settings = start_role().settings
    container = build_container(settings)
    notifications = notifications_of(container)
    try:
        dead = notifications.ledger.dead_letters(limit)
    finally:
        notifications.close()
        container.close()
    for letter in dead:
        click.echo(
            f"{letter.message_id}  tenant {letter.tenant_id}  {letter.kind} by {letter.channel}"
            f"  {letter.attempts} attempts  {letter.updated_at:%Y-%m-%d %H:%M:%S}"
            f"  {letter.error or ''}"
        )
    if not dead:
        click.echo("no dead messages", err=True)


@jobs_command.command("retry")
@click.argument("message_id", type=click.UUID)
def retry_command(message_id: UUID) -> None:
    """Queue the dead message MESSAGE_ID again, with a fresh round of attempts."""
    settings = start_role().settings
    container = build_container(settings)
    notifications = notifications_of(container)
    try:
        found = notifications.ledger.dead_letters(1, message_id)
        if not found:
            raise click.ClickException(f"no dead message {message_id}")
        tenant_id = found[0].tenant_id
        now = datetime.now(UTC)
        notifications.ledger.transition(
            tenant_id,
            message_id,
            lambda delivery: delivery.revive(now, settings.notify.max_attempts),
        )
        notifications.jobs.enqueue(tenant_id, message_id)
    finally:
        notifications.close()
        container.close()
    click.echo(f"queued {message_id} again")
