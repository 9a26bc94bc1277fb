"""``smartqueue analytics-sink``: every published event into a DuckDB file, exactly once;
``smartqueue analytics-sink status``: how far behind it is (docs/analytics-sink.md)."""

from __future__ import annotations

import sys

import click

from infrastructure.analytics.settings import AnalyticsSinkSettings, load_sink_settings
from infrastructure.analytics.status import judge, read_status
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import SettingsError
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role

SILENT_BEATS = 3
"""``status`` calls a sink silent after this many status intervals without a word."""


def sink_settings() -> AnalyticsSinkSettings:
    """The sink's settings; a bad value ends the command with a clear error."""
    try:
        return load_sink_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group("analytics-sink", invoke_without_command=True)
@click.pass_context
def analytics_sink_group(ctx: click.Context) -> None:
    """Copy every event of the Kafka stream into a DuckDB file for analytics, exactly once
    (offsets stored with the rows, events de-duplicated by id). One process per file."""
    if ctx.invoked_subcommand is not None:
        return
    # DuckDB takes a tenth of a second to import: only the sink pays it, not every command.
    from infrastructure.analytics.sink import start_sink

    stop = stop_on_signals()
    sink = sink_settings()
    started = start_role(broker=True)
    settings = started.settings
    database = sink.database_path(settings.home)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        start_sink(settings.kafka, sink, database, supervisor)
        click.echo(
            f"analytics sink consuming {settings.kafka.bootstrap_servers} (every partition, no"
            f" group membership) into {database}; offsets mirrored to group {sink.group}",
            err=True,
        )
        stop.wait()
        supervisor.join(10)
    finally:
        started.stop_broker()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role


@analytics_sink_group.command("status")
@click.option(
    "--max-behind", type=int, default=None, help="Fail beyond this many records not yet stored."
)
def status_command(max_behind: int | None) -> None:
    """Print the sink's last status: rows stored, records behind (and how long ago the newest
    stored event happened), per partition the stored offset and the end. Exits 1 when the sink
    is silent, holds no partition or is behind the threshold (a probe)."""
    sink = sink_settings()
    settings = start_role().settings
    status = read_status(sink.database_path(settings.home))
    verdict = judge(status, sink.status_seconds * SILENT_BEATS, max_behind)
    if status is not None:
        click.echo(status.describe())
    if verdict.problem:
        click.echo(f"problem: {verdict.problem}")
        sys.exit(1)
