"""The ``smartqueue`` command line: one entry point for every role and for operators."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Mapping
from uuid import UUID

import click

from application.context import CommandContext
from application.demo import (
    DemoData,
    known_demo_logins,
    logins_that_still_work,
    seed_demo_data,
)
from application.demo_history import SettableClock
from application.identity import Identity
from domain.errors import DomainError
from infrastructure.container import Container, build_container
from infrastructure.kafka.broker import stop_embedded_kafka
from infrastructure.kafka.relay import reset_relay, start_relay
from infrastructure.migration import migrate
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.redis.server import stop_embedded_redis
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import Settings, current_settings
from interfaces.analytics_sink_cli import analytics_sink_group
from interfaces.dev_exposure import warn_if_exposed
from interfaces.dev_ready import announce_when_ready, waiting_for
from interfaces.gateway_cli import gateway_command, run_gateway_in_background
from interfaces.jobs_cli import jobs_command, run_jobs_in_background
from interfaces.mail_cli import mail_command, start_mail_catcher
from interfaces.notifier_cli import notifier_command, run_notifier_in_background
from interfaces.projections_cli import projections_group, run_in_background
from interfaces.relay_cli import relay_group
from interfaces.startup import resolve_broker, start_role
from interfaces.worker_cli import run_worker_in_background, worker_command

DEMO = {
    "name": "Demo Bank",
    "slug": "demo-bank",
    "email": "admin@demo-bank.com",
    "password": "admin123",
}
HISTORY_DAYS = 7
"""Past days of activity the demo data plays before today's (``--history-days``)."""
HISTORY_DAYS_OPTION = click.option(
    "--history-days",
    default=HISTORY_DAYS,
    show_default=True,
    type=click.IntRange(min=0),
    help="Demo data only: past days of visits played before today's (0: none).",
)


@click.group()
def main() -> None:
    """SmartQueue: event-sourced queue management."""
    # One command, one load of the environment: a process runs one command, but a test (or any
    # caller) invoking several in one process must not get the previous command's settings.
    current_settings.cache_clear()


@main.command("migrate")
def migrate_command() -> None:
    """Create or upgrade every table, the database roles and their grants (safe to run again)."""
    settings = start_role().settings
    migrate(settings)
    click.echo("schema ready")


@main.command("create-tenant")
@click.option("--name", required=True, help="Display name, e.g. 'Demo Bank'.")
@click.option("--slug", required=True, help="URL name, e.g. demo-bank.")
@click.option("--admin-email", required=True)
@click.option("--admin-password", default=None, help="Generated and printed when omitted.")
@click.option(
    "--with-demo-data", is_flag=True, help="A site, services, queues, agents and tickets."
)
@HISTORY_DAYS_OPTION
def create_tenant_command(
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str | None,
    with_demo_data: bool,
    history_days: int,
) -> None:
    """Create a tenant and its first admin (works whether or not `smartqueue dev` is running)."""
    settings = start_role().settings
    migrate(settings)
    try:
        create_tenant(
            settings, name, slug, admin_email, admin_password, with_demo_data, history_days
        )
    except DomainError as error:
        raise click.ClickException(str(error)) from None


def create_tenant(
    settings: Settings,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str | None,
    with_demo_data: bool,
    history_days: int = 0,
) -> None:
    """Create the tenant, its admin and optionally demo data (with ``history_days`` of past
    activity); print what an operator needs."""
    password = admin_password or secrets.token_urlsafe(12)
    # The demo's past days run the commands at past instants: this process's contexts read
    # this clock, which tells the real time whenever the history is not being played.
    clock = SettableClock()
    container = build_container(settings, clock=clock)
    try:
        tenant_id, _ = container.identity.create_tenant(
            CommandContext.system(None), slug, name, admin_email, password
        )
        context = CommandContext.system(tenant_id)
        click.echo(f"tenant {slug} created (id {tenant_id})")
        click.echo(f"  admin: {admin_email} / {password}")
        if with_demo_data:
            started = time.monotonic()
            demo = seed_demo_data(container, context, slug, history_days, clock)
            _echo_history(demo, time.monotonic() - started)
            click.echo(f"  site: {demo.site_id}")
            click.echo(f"  queues: fifo {demo.fifo_queue_id}, priority {demo.priority_queue_id}")
            for agent in demo.agents:
                click.echo(f"  agent: {agent.email} / {agent.password}")
            click.echo(f"  waiting tickets: {', '.join(demo.waiting_tickets)}")
            click.echo(
                f"  customer: {demo.customer_email} (holds {demo.waiting_tickets[0]};"
                " told by email when it is called)"
            )
            for appointment in demo.appointments:
                checked_in = f", checked in as {appointment.ticket}" if appointment.ticket else ""
                click.echo(
                    f"  appointment: {appointment.service} {appointment.start:%Y-%m-%d %H:%M},"
                    f" code {appointment.code}{checked_in}"
                )
            click.echo(f"  feedback: {len(demo.feedback_ids)} completed visits answered")
            pages = demo_pages(container, context, settings, slug, demo.site_id)
            click.echo(pages, nl=False)
    finally:
        container.close()


def _echo_history(demo: DemoData, seconds: float) -> None:
    history = demo.history
    if history is None or not history.days:
        return
    click.echo(
        f"  history: {len(history.days)} open days, {history.days[0]} to {history.days[-1]}:"
        f" {history.visits} visits, {history.served} served, {history.feedback} answered"
        f" (demo data seeded in {seconds:.1f} s)"
    )


DEMO_PAGES = "demo-pages.txt"


def demo_pages(
    container: Container, context: CommandContext, settings: Settings, slug: str, site_id: UUID
) -> str:
    """Register a hall display, a display above counter 1 and a kiosk at the demo site; their
    pages' provisioning URLs (kept, readable by the owner only, in SMARTQUEUE_HOME so
    `smartqueue dev` shows them on every start: a device's secret is shown once), and the site's
    public join and booking pages."""
    base = f"http://{settings.http.host}:{settings.http.port}"
    lines = []
    pages = (
        ("display", "Hall display", "display page", ""),
        ("display", "Counter 1 display", "counter display", "?counter=1"),
        ("kiosk", "Entrance kiosk", "kiosk page", ""),
    )
    for kind, name, label, query in pages:
        registered = container.devices.register_device(context, site_id, kind, name)
        fragment = f"#device={registered.device.id}&secret={registered.secret}"
        lines.append(f"  {label}: {base}/{kind}/{slug}/{query}{fragment}\n")
    lines.append(f"  join page (customers): {base}/join/{slug}/{site_id}\n")
    lines.append(f"  booking page (customers): {base}/book/{slug}/{site_id}\n")
    lines.append(f"  agent console (staff sign-in): {base}/console/{slug}/\n")
    lines.append(f"  manager dashboard (staff sign-in): {base}/dashboard/{slug}/\n")
    text = "".join(lines)
    path = settings.home / DEMO_PAGES
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)
    return text


def demo_sign_ins(identity: Identity, base: str, demo: Mapping[str, str]) -> str:
    """The demo tenant's (``demo``: its ``slug``, ``email``, ``password``) dashboard and
    console, each with the published sign-ins that still work on it: the admin on the dashboard
    (it needs a manager or an admin), the agents on the console. A login whose password was
    changed is not shown; no page without one is."""
    slug = demo["slug"]
    admin, *agents = known_demo_logins(slug, demo["email"], demo["password"])
    working = set(logins_that_still_work(identity, [admin, *agents]))
    pages = (
        ("manager dashboard", "dashboard", [admin]),
        ("agent console", "console", agents),
    )
    lines = []
    for label, path, logins in pages:
        usable = [f"{email} / {password}" for email, password in logins if email in working]
        if usable:
            lines.append(f"  {label}: {base}/{path}/{slug}/  sign in as {' or '.join(usable)}\n")
    if not lines:
        return ""
    return f"Demo tenant {slug} (public passwords: keep it on this machine):\n{''.join(lines)}"


@main.command("create-platform-admin")
@click.option("--email", required=True)
@click.option("--password", default=None, help="Generated and printed when omitted.")
@click.option("--name", default="Platform administrator")
def create_platform_admin_command(email: str, password: str | None, name: str) -> None:
    """Create a platform administrator, who manages tenants (GET/POST /api/v1/tenants/)."""
    settings = start_role().settings
    migrate(settings)
    password = password or secrets.token_urlsafe(12)
    container = build_container(settings)
    try:
        user = container.identity.create_platform_admin(email, password, name)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        container.close()
    click.echo(f"platform admin created (id {user.id})")
    click.echo(f"  login: {user.email} / {password}")


@main.command("dev")
@click.option("--host", default=None, help="Default 127.0.0.1 (SMARTQUEUE_HOST).")
@click.option("--port", default=None, type=int, help="Default 8000 (SMARTQUEUE_PORT).")
@click.option("--demo/--no-demo", default=True, help="Create the demo-bank tenant if missing.")
@HISTORY_DAYS_OPTION
def dev_command(host: str | None, port: int | None, demo: bool, history_days: int) -> None:
    """Everything in one process tree on the embedded default (data under SMARTQUEUE_HOME): the
    API, the projections, the Kafka relay, the display gateway, the worker, the notifier and the
    delivery jobs, over PostgreSQL, Redis and a Kafka broker; mail goes to a local catcher
    (`smartqueue mail`) unless SMARTQUEUE_SMTP_HOST is set."""
    import uvicorn

    from interfaces.http.app import create_app

    settings = start_role().settings
    http = dataclasses.replace(
        settings.http, host=host or settings.http.host, port=port or settings.http.port
    )
    settings = dataclasses.replace(settings, http=http)
    migrate(settings)
    settings, broker_started = resolve_broker(settings)
    settings, mail_catcher = start_mail_catcher(settings)
    bootstrap = settings.kafka.bootstrap_servers
    container = build_container(settings)
    created = False
    if demo and container.identity.credentials.find_by_email(DEMO["email"]) is None:
        container.close()
        create_tenant(
            settings,
            DEMO["name"],
            DEMO["slug"],
            DEMO["email"],
            DEMO["password"],
            True,
            history_days,
        )
        created = True
        container = build_container(settings)
    app = create_app(settings, container)
    host, port = settings.http.host, settings.http.port
    pages = settings.home / DEMO_PAGES

    def announce() -> None:
        click.echo(f"SmartQueue on http://{host}:{port}  (API docs: http://{host}:{port}/schema)")
        click.echo(f"Kafka at {bootstrap} (relay and display gateway running)")
        if mail_catcher is not None:
            click.echo(
                f"Mail to customers is caught on smtp://{mail_catcher.host}:{mail_catcher.port}"
                f" into {mail_catcher.directory} (read it: smartqueue mail --last 1);"
                " SMS, WhatsApp and push without a provider go to the console"
            )
        if demo and pages.exists() and not created:
            click.echo("Demo devices (open once; the page keeps its credentials):")
            click.echo(pages.read_text(), nl=False)
        if demo:
            click.echo(demo_sign_ins(container.identity, f"http://{host}:{port}", DEMO), nl=False)
        click.echo(
            "ready: API, projections, relay, display gateway, worker, notifier and delivery jobs"
        )
        warn_if_exposed(container.identity, host, DEMO)

    # uvicorn re-raises SIGTERM once it has shut down; exiting normally then runs the clean-up
    # below and the embedded servers' exit hooks instead of dying with them still running.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    stop_roles = threading.Event()
    supervisor = Supervisor(stop_roles, max_restarts=settings.supervision.max_restarts)
    run_in_background(container, supervisor)
    relay_engine = sqlalchemy_engine(container.database_url, pool_size=1)
    if broker_started:
        reset_relay(relay_engine)  # a new embedded broker is empty: publish the whole log
    start_relay(
        relay_engine, container.app.recorder, container.app.mapper, settings.kafka, supervisor
    )
    gateway = run_gateway_in_background(container, settings, supervisor)
    run_worker_in_background(container, supervisor)
    run_notifier_in_background(container, container.notify, settings, supervisor)
    container.appointment_no_shows  # noqa: B018 - declares its actor on the jobs' broker
    container.hold_expiries  # noqa: B018 - likewise
    run_jobs_in_background(container.notify, settings.notify.jobs_threads, supervisor)
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a comparison
    announce_when_ready(
        lambda: waiting_for(
            f"http://{local}:{port}",
            container.read_engine,
            container.app.recorder,
            gateway,
            settings.supervision,
        ),
        announce,
        stop_roles,
    )
    threading.Thread(
        target=_stop_when_given_up, args=(supervisor,), name="dev-give-up", daemon=True
    ).start()
    try:
        uvicorn.run(
            app, host=host, port=port, log_config=None, access_log=False, **proxy_options(settings)
        )
    finally:
        stop_roles.set()
        supervisor.join(10)
        relay_engine.dispose()
        container.close()
        if mail_catcher is not None:
            mail_catcher.stop()
        if settings.redis.url is None:
            stop_embedded_redis(settings.home)
        if broker_started:
            stop_embedded_kafka(settings.home)
        if supervisor.gave_up.is_set():
            raise SystemExit(1)  # a role could not recover: let the process supervisor know


def _stop_when_given_up(supervisor: Supervisor) -> None:
    """A role of ``dev`` keeps dying: stop the whole process (uvicorn shuts down on SIGTERM)."""
    supervisor.gave_up.wait()
    click.echo("a role keeps failing (see the log): stopping", err=True)
    os.kill(os.getpid(), signal.SIGTERM)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@main.command("api")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.option("--workers", default=None, type=int, help="Processes (SMARTQUEUE_API_WORKERS).")
def api_command(host: str | None, port: int | None, workers: int | None) -> None:
    """The HTTP API role. Run `smartqueue migrate` once before starting any role."""
    import uvicorn

    settings = start_role().settings
    uvicorn.run(
        "interfaces.http.app:create_app",
        factory=True,
        host=host or settings.http.host,
        port=port or settings.http.port,
        workers=workers or settings.http.workers,
        log_config=None,
        access_log=False,
        **proxy_options(settings),
    )


def proxy_options(settings: Settings) -> dict[str, object]:
    """uvicorn's forwarding-header options from SMARTQUEUE_TRUSTED_PROXIES. Left to itself,
    uvicorn believes ``X-Forwarded-For`` from loopback, so any local client could pick the
    address the limiter and the audit trail see; with no trusted proxy, no header is read."""
    trusted = settings.proxies.trusted
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted)}


main.add_command(projections_group)
main.add_command(relay_group)
main.add_command(worker_command)
main.add_command(jobs_command)
main.add_command(notifier_command)
main.add_command(gateway_command)
main.add_command(mail_command)
main.add_command(analytics_sink_group)


if __name__ == "__main__":
    sys.exit(main())
