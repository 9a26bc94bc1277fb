"""The start-up every role and operator command shares: the process's settings, logging and,
for the roles that speak Kafka, the broker."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import click

from infrastructure.kafka.broker import resolve_kafka, stop_embedded_kafka
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, SettingsError, current_settings


@dataclass(frozen=True)
class Started:
    """What :func:`start_role` set up."""

    settings: Settings
    broker_started: bool = False
    """This process started the embedded Kafka broker (and stops it on the way out)."""

    def stop_broker(self) -> None:
        """Stop the embedded broker if this process started it."""
        if self.broker_started:
            stop_embedded_kafka(self.settings.home)


def start_role(*, broker: bool = False) -> Started:
    """Load this process's settings (once), configure logging and, with ``broker``, resolve the
    Kafka broker (KAFKA_BOOTSTRAP_SERVERS, else the embedded one, started if need be). A bad
    setting ends the command with an error naming each bad variable, not a traceback."""
    settings = role_settings()
    configure_logging(settings.log)
    if not broker:
        return Started(settings)
    return Started(*resolve_broker(settings))


def role_settings() -> Settings:
    """This process's settings; a bad value ends the command with a clear error."""
    try:
        return current_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def resolve_broker(settings: Settings) -> tuple[Settings, bool]:
    """``settings`` naming the broker to use (the embedded one, started if need be, when none
    is set), and whether this process started it."""
    bootstrap, started = resolve_kafka(settings)
    return with_broker(settings, bootstrap), started


def with_broker(settings: Settings, bootstrap_servers: str) -> Settings:
    """``settings`` naming the broker actually used (the embedded one when none was set)."""
    kafka = dataclasses.replace(settings.kafka, bootstrap_servers=bootstrap_servers)
    return dataclasses.replace(settings, kafka=kafka)
