"""``smartqueue projections``: follow the log, rebuild a read model, show lag and dead letters,
retry dead letters."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg
import sqlalchemy.exc

from infrastructure.container import Container, build_container
from infrastructure.following.dead_letters import dead_letters
from infrastructure.following.process import model_named, start_followers
from infrastructure.following.rebuild import rebuild
from infrastructure.following.retry import RetryOutcome, retry_dead_letters
from infrastructure.following.runner import ReadModel, read_models
from infrastructure.postgres.roles import resolve_migration_url
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.read_models.queue_stats import sla_rule
from infrastructure.roles.health import roles_health
from infrastructure.roles.supervisor import Supervisor
from interfaces.relay_cli import limits_option, probe_limits
from interfaces.signals import stop_on_signals
from interfaces.startup import role_settings, start_role


@contextmanager
def _container() -> Iterator[Container]:
    container = build_container(start_role().settings)
    try:
        yield container
    finally:
        container.close()


def run_in_background(container: Container, supervisor: Supervisor) -> None:
    """Follow every projection in supervised threads of this process (also ``smartqueue
    dev``); the engine is released once the supervisor's stop is set."""
    # A dedicated engine: the follower group keeps one connection for as long as it holds its
    # locks.
    engine = sqlalchemy_engine(container.database_url, pool_size=2)
    sla = sla_rule(container.settings.stats)
    start_followers(
        engine,
        container.app.recorder,
        container.app.mapper,
        supervisor,
        sla=sla,
        max_attempts=container.settings.supervision.projection_max_attempts,
    )

    def release_when_stopped() -> None:
        supervisor.stop.wait()
        supervisor.join(5)
        engine.dispose()

    threading.Thread(target=release_when_stopped, name="projections-cleanup", daemon=True).start()


@click.group("projections", invoke_without_command=True)
@click.pass_context
def projections_group(ctx: click.Context) -> None:
    """Run every projection (follow the log; a standby waits if another process runs them).
    Exits 1 when a thread keeps dying, for the process supervisor to restart the role."""
    if ctx.invoked_subcommand is not None:
        return
    stop = stop_on_signals()
    with _container() as container:
        supervisor = Supervisor(stop, max_restarts=container.settings.supervision.max_restarts)
        run_in_background(container, supervisor)
        click.echo(f"following {', '.join(sorted(read_models()))}")
        stop.wait()
        supervisor.join(10)
    if supervisor.gave_up.is_set():
        sys.exit(1)


@projections_group.command("rebuild")
@click.argument("name", required=False)
def rebuild_command(name: str | None) -> None:
    """Rebuild NAME (every projection by default) from the start of the log, then swap it in.

    Runs as the migration role (MIGRATION_DATABASE_URL): it replaces tables, which only their
    owner may do."""
    # The SLA rule is read at rebuild time: rebuilding is how a changed rule reaches past days.
    sla = sla_rule(role_settings().stats)
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
@limits_option
def status_command(max_lag: int | None, silent_seconds: float | None) -> None:
    """Print each projection's position, the log's head, the lag, the last check-in and its dead
    letters. Exits 1 when one is silent, stalled or behind the threshold (a probe); dead letters
    alone do not fail it (the projection works: see ``dead-letters``)."""
    with _container() as container:
        limits = probe_limits(container.settings, max_lag, silent_seconds)
        health = roles_health(
            container.read_engine, container.app.recorder, sorted(read_models()), limits
        )
    for row in health:
        click.echo(row.describe())
    if any(row.problem for row in health):
        sys.exit(1)


@projections_group.command("dead-letters")
@click.option("--projection", default=None, help="Only this projection's.")
def dead_letters_command(projection: str | None) -> None:
    """List the events projections set aside after failing on them (in log order)."""
    with _container() as container, container.read_engine.connect() as connection:
        letters = dead_letters(connection, projection)
    if not letters:
        click.echo("no dead letters")
    for letter in letters:
        click.echo(
            f"{letter.projection}\tposition {letter.position}\tevent {letter.event_id}"
            f"\t{letter.topic}\tattempts {letter.attempts}"
            f"\tfirst {letter.first_failed_at.isoformat()}"
            f"\tlast {letter.last_failed_at.isoformat()}"
            f"\t{letter.error}"
        )


@projections_group.command("retry")
@click.option("--projection", default=None, help="Only this projection's dead letters.")
@click.option("--position", type=int, default=None, help="Only the dead letter at this position.")
@click.option("--all", "every", is_flag=True, help="Every dead letter (of --projection if given).")
def retry_command(projection: str | None, position: int | None, every: bool) -> None:
    """Apply dead letters again, in log order, each in one transaction with removing it. Stops
    at the first that fails again (it stays, its attempts counted) and exits 1."""
    if (position is None) == (not every):
        raise click.UsageError("give --position N or --all")
    sla = sla_rule(role_settings().stats)

    def report(outcome: RetryOutcome) -> None:
        letter = outcome.letter
        verdict = "applied" if outcome.error is None else f"failed again: {outcome.error}"
        click.echo(f"{letter.projection}\tposition {letter.position}\t{verdict}")

    with _container() as container:
        outcomes = retry_dead_letters(
            container.read_engine,
            container.app.recorder,
            container.app.mapper,
            read_models(sla),
            projection=projection,
            position=position,
            on_outcome=report,
        )
    if not outcomes:
        click.echo("no dead letters to retry")
    if any(outcome.error for outcome in outcomes):
        sys.exit(1)
