"""``smartqueue projections``: follow the log, rebuild a read model, show lag."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg
import sqlalchemy.exc

from infrastructure.container import Container, build_container
from infrastructure.database_roles import resolve_migration_url
from infrastructure.logging import configure_logging
from infrastructure.projection_process import lag, model_named, start_followers
from infrastructure.projection_runner import ReadModel, read_models
from infrastructure.queue_stats_store import sla_rule
from infrastructure.rebuild import rebuild
from infrastructure.settings import load_settings
from infrastructure.sql import sqlalchemy_engine
from interfaces.signals import stop_on_signals


@contextmanager
def _container() -> Iterator[Container]:
    settings = load_settings()
    configure_logging(settings.log)
    container = build_container(settings)
    try:
        yield container
    finally:
        container.close()


def run_in_background(container: Container, stop: threading.Event) -> list[threading.Thread]:
    """Follow every projection in daemon threads of this process (``smartqueue dev``)."""
    # A dedicated engine: each follower keeps one connection for as long as it holds its lock.
    engine = sqlalchemy_engine(container.database_url, pool_size=len(read_models()) + 1)
    sla = sla_rule(container.settings.stats)
    threads = start_followers(engine, container.app.recorder, container.app.mapper, stop, sla=sla)

    def release_when_stopped() -> None:
        stop.wait()
        for thread in threads:
            thread.join(5)
        engine.dispose()

    watcher = threading.Thread(target=release_when_stopped, name="projections-cleanup", daemon=True)
    watcher.start()
    return [*threads, watcher]


@click.group("projections", invoke_without_command=True)
@click.pass_context
def projections_group(ctx: click.Context) -> None:
    """Run every projection (follow the log; a standby waits if another process runs them)."""
    if ctx.invoked_subcommand is not None:
        return
    stop = stop_on_signals()
    with _container() as container:
        threads = run_in_background(container, stop)
        click.echo(f"following {', '.join(sorted(read_models()))}")
        while not stop.wait(1.0):
            pass
        for thread in threads:
            thread.join(10)


@projections_group.command("rebuild")
@click.argument("name", required=False)
def rebuild_command(name: str | None) -> None:
    """Rebuild NAME (every projection by default) from the start of the log, then swap it in.

    Runs as the migration role (MIGRATION_DATABASE_URL): it replaces tables, which only their
    owner may do."""
    # The SLA rule is read at rebuild time: rebuilding is how a changed rule reaches past days.
    sla = sla_rule(load_settings().stats)
    try:
        models = [model_named(name, sla)] if name else list(read_models(sla).values())
    except KeyError as error:
        raise click.ClickException(str(error.args[0])) from None
    with _container() as container:
        for model in models:
            position = _rebuild_with_progress(container, model)
            click.echo(f"{model.name}: rebuilt up to position {position}")


def _rebuild_with_progress(container: Container, model: ReadModel) -> int:
    recorder = container.app.recorder
    head = recorder.max_notification_id() or 0
    engine = sqlalchemy_engine(resolve_migration_url(container.settings), pool_size=1)
    with click.progressbar(length=head, label=f"rebuilding {model.name}") as bar:
        done = 0

        def advance(position: int) -> None:
            nonlocal done
            reached = min(position, head)
            bar.update(max(0, reached - done))
            done = max(done, reached)

        try:
            return rebuild(model, engine, recorder, container.app.mapper, on_progress=advance)
        except sqlalchemy.exc.ProgrammingError as error:
            if not isinstance(error.orig, psycopg.errors.InsufficientPrivilege):
                raise
            raise click.ClickException(
                "a rebuild replaces tables, which only their owner may do: set "
                f"MIGRATION_DATABASE_URL to the schema owner's login ({error.orig})"
            ) from None
        finally:
            engine.dispose()


@projections_group.command("status")
def status_command() -> None:
    """Print each projection's position, the log's head and the lag between them."""
    with _container() as container:
        for row in lag(container.read_engine, container.app.recorder):
            click.echo(
                f"{row.projection}\tposition {row.position}\thead {row.head}\tlag {row.behind}"
            )
