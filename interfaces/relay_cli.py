"""``smartqueue relay``: publish the event log to Kafka; ``smartqueue relay status``: its lag."""

from __future__ import annotations

import dataclasses

import click

from application.app import SmartQueue
from infrastructure.database import event_store_env, resolve_database_url
from infrastructure.kafka_broker import resolve_kafka, stop_embedded_kafka
from infrastructure.logging import configure_logging
from infrastructure.projection_process import start_doorbell
from infrastructure.relay import relay_lag, relay_role
from infrastructure.settings import Settings, load_settings
from infrastructure.sql import sqlalchemy_engine
from interfaces.signals import stop_on_signals


def with_broker(settings: Settings, bootstrap_servers: str) -> Settings:
    """``settings`` naming the broker actually used (the embedded one when none was set)."""
    kafka = dataclasses.replace(settings.kafka, bootstrap_servers=bootstrap_servers)
    return dataclasses.replace(settings, kafka=kafka)


@click.group("relay", invoke_without_command=True)
@click.pass_context
def relay_group(ctx: click.Context) -> None:
    """Publish every event to Kafka, in log order (one active process; others stand by)."""
    if ctx.invoked_subcommand is not None:
        return
    stop = stop_on_signals()
    settings = load_settings()
    configure_logging(settings.log)
    bootstrap, started = resolve_kafka(settings)
    database_url = resolve_database_url(settings)
    # The relay needs the log only: no Redis, no identity tables.
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    engine = sqlalchemy_engine(database_url, pool_size=1)
    try:
        _, role = relay_role(
            engine,
            app.recorder,
            app.mapper,
            with_broker(settings, bootstrap).kafka,
            doorbell=start_doorbell(app.recorder, stop),
        )
        click.echo(f"relaying the event log to Kafka at {bootstrap}", err=True)
        role.run(stop)
    finally:
        engine.dispose()
        app.close()
        if started:
            stop_embedded_kafka(settings.home)


@relay_group.command("status")
def status_command() -> None:
    """Print the relay's position, the log's head and the lag between them."""
    settings = load_settings()
    configure_logging(settings.log)
    database_url = resolve_database_url(settings)
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    engine = sqlalchemy_engine(database_url, pool_size=1)
    try:
        lag = relay_lag(engine, app.recorder)
    finally:
        engine.dispose()
        app.close()
    updated = lag.updated_at.isoformat() if lag.updated_at else "never"
    click.echo(
        f"kafka_relay\tposition {lag.position}\thead {lag.head}\tlag {lag.behind}"
        f"\tlast published {updated}"
    )
