"""``smartqueue relay``: publish the event log to Kafka; ``smartqueue relay status``: its lag."""

from __future__ import annotations

import dataclasses
import sys

import click

from application.app import SmartQueue
from infrastructure.kafka.relay import RELAY_NAME, relay_role
from infrastructure.postgres.database import event_store_env, resolve_database_url
from infrastructure.postgres.doorbell import start_doorbell
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.roles.health import roles_health
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import Settings, SupervisionSettings
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role


@click.group("relay", invoke_without_command=True)
@click.pass_context
def relay_group(ctx: click.Context) -> None:
    """Publish every event to Kafka, in log order (one active process; others stand by)."""
    if ctx.invoked_subcommand is not None:
        return
    stop = stop_on_signals()
    started = start_role(broker=True)
    settings = started.settings
    bootstrap = settings.kafka.bootstrap_servers
    database_url = resolve_database_url(settings)
    # The relay needs the log only: no Redis, no identity tables.
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    engine = sqlalchemy_engine(database_url, pool_size=1)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        _, role = relay_role(
            engine,
            app.recorder,
            app.mapper,
            settings.kafka,
            doorbell=start_doorbell(app.recorder, stop, supervisor),
        )
        supervisor.add("kafka-relay", role.run)
        click.echo(f"relaying the event log to Kafka at {bootstrap}", err=True)
        stop.wait()
        supervisor.join(10)
    finally:
        engine.dispose()
        app.close()
        started.stop_broker()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role


def limits_option(function):  # type: ignore[no-untyped-def]
    """``--max-lag`` and ``--silent-seconds``, overriding the settings' probe thresholds."""
    function = click.option(
        "--silent-seconds",
        type=float,
        default=None,
        help="Silent/stalled after this long without a check-in (SMARTQUEUE_ROLE_SILENT_SECONDS).",
    )(function)
    return click.option(
        "--max-lag",
        type=int,
        default=None,
        help="Fail beyond this many events behind the log (SMARTQUEUE_MAX_LAG).",
    )(function)


def probe_limits(
    settings: Settings, max_lag: int | None, silent_seconds: float | None
) -> SupervisionSettings:
    """The settings' thresholds, with the command line's where given."""
    limits = settings.supervision
    if max_lag is not None:
        limits = dataclasses.replace(limits, max_lag=max_lag)
    if silent_seconds is not None:
        limits = dataclasses.replace(limits, silent_seconds=silent_seconds)
    return limits


@relay_group.command("status")
@limits_option
def status_command(max_lag: int | None, silent_seconds: float | None) -> None:
    """Print the relay's position, the log's head, the lag and its last check-in. Exits 1 when
    the relay is silent, stalled or behind the threshold (a probe)."""
    settings = start_role().settings
    limits = probe_limits(settings, max_lag, silent_seconds)
    database_url = resolve_database_url(settings)
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    engine = sqlalchemy_engine(database_url, pool_size=1)
    try:
        [health] = roles_health(engine, app.recorder, [RELAY_NAME], limits)
    finally:
        engine.dispose()
        app.close()
    click.echo(health.describe())
    if health.problem:
        sys.exit(1)
