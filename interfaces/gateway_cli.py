"""``smartqueue gateway``: the display gateway, events from Kafka onto the live Redis channels;
``smartqueue gateway status``: its group's lag and last heartbeat."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import click
import redis

from application.live import HEARTBEAT_SECONDS
from infrastructure.container import Container, build_container
from infrastructure.kafka.broker import running_broker
from infrastructure.kafka.display_gateway import DisplayGateway, start_gateway
from infrastructure.kafka.gateway_status import group_lag, last_heartbeat, skipped_records
from infrastructure.redis.server import connect_redis, resolve_redis_url
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import Settings
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role, with_broker


def run_gateway_in_background(
    container: Container, settings: Settings, supervisor: Supervisor
) -> DisplayGateway:
    """The display gateway in a supervised thread of this process (also ``smartqueue dev``)."""
    return start_gateway(
        container.live, container.redis, settings.kafka, settings.live.gateway_group, supervisor
    )


@click.group("gateway", invoke_without_command=True)
@click.pass_context
def gateway_command(ctx: click.Context) -> None:
    """Turn events into live updates for the API's WebSockets (hall displays, agent screens).
    Run as many as you like: the Kafka consumer group shares the partitions among them."""
    if ctx.invoked_subcommand is not None:
        return
    stop = stop_on_signals()
    started = start_role(broker=True)
    settings = started.settings
    bootstrap = settings.kafka.bootstrap_servers
    container = build_container(settings)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        run_gateway_in_background(container, settings, supervisor)
        click.echo(
            f"display gateway consuming {bootstrap} as group {settings.live.gateway_group}",
            err=True,
        )
        stop.wait()
        supervisor.join(10)
    finally:
        container.close()
        started.stop_broker()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role


@gateway_command.command("status")
def status_command() -> None:
    """Print the gateway group's last heartbeat, the malformed records it skipped (if any) and,
    per partition of its topics, the committed offset, the end and the lag between them. Exits 1
    when no gateway beat recently."""
    settings = start_role().settings
    logging.getLogger("kafka").setLevel(logging.WARNING)  # its connection chatter
    group = settings.live.gateway_group
    bootstrap = settings.kafka.bootstrap_servers or running_broker(settings.home / "kafka")
    if bootstrap is None:
        raise click.ClickException(
            "no Kafka broker: set KAFKA_BOOTSTRAP_SERVERS, or start smartqueue dev"
        )
    lags = group_lag(with_broker(settings, bootstrap).kafka, group)
    client = connect_redis(resolve_redis_url(settings))
    try:
        beat = last_heartbeat(client, group)
        skipped, last_skipped = skipped_records(client, group)
    except redis.RedisError as error:
        raise click.ClickException(f"Redis unreachable: {error}") from error
    finally:
        client.close()
    if beat is None:
        silence = f"no heartbeat in the last {HEARTBEAT_SECONDS * 3:.0f} s"
        click.echo(f"display_gateway\tgroup {group}\tsilent ({silence})")
    else:
        age = (datetime.now(UTC) - beat.at).total_seconds()
        click.echo(
            f"display_gateway\tgroup {group}\tlast beat {beat.at.isoformat()} ({age:.0f} s ago)"
            f"\tposition {beat.position}"
        )
    if skipped:
        click.echo(f"malformed records skipped {skipped}\tlast {last_skipped}")
    for lag in lags:
        behind = "no position yet" if lag.behind is None else f"lag {lag.behind}"
        committed = "-" if lag.committed is None else lag.committed
        click.echo(f"{lag.topic}[{lag.partition}]\tcommitted {committed}\tend {lag.end}\t{behind}")
    click.echo(f"total lag {sum(lag.behind or 0 for lag in lags)}")
    if beat is None:
        sys.exit(1)
