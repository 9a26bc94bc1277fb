"""``smartqueue gateway``: the display gateway, events from Kafka onto the live Redis channels."""

from __future__ import annotations

import threading

import click

from infrastructure.container import Container, build_container
from infrastructure.display_gateway import start_gateway
from infrastructure.kafka_broker import resolve_kafka, stop_embedded_kafka
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, load_settings
from interfaces.relay_cli import with_broker
from interfaces.signals import stop_on_signals


def run_gateway_in_background(
    container: Container, settings: Settings, stop: threading.Event
) -> threading.Thread:
    """The display gateway in a daemon thread of this process (``smartqueue dev``)."""
    return start_gateway(
        container.live, container.redis, settings.kafka, settings.live.gateway_group, stop
    )


@click.command("gateway")
def gateway_command() -> None:
    """Turn events into live updates for the API's WebSockets (hall displays, agent screens).
    Run as many as you like: the Kafka consumer group shares the partitions among them."""
    stop = stop_on_signals()
    settings = load_settings()
    configure_logging(settings.log)
    bootstrap, started = resolve_kafka(settings)
    settings = with_broker(settings, bootstrap)
    container = build_container(settings)
    try:
        thread = run_gateway_in_background(container, settings, stop)
        click.echo(
            f"display gateway consuming {bootstrap} as group {settings.live.gateway_group}",
            err=True,
        )
        while not stop.wait(1.0):
            pass
        thread.join(10)
    finally:
        container.close()
        if started:
            stop_embedded_kafka(settings.home)
