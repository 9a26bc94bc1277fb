"""Every role and operator command starts the same way: the process's settings (loaded once), a
bad value ending the command with one clear error instead of a traceback, then logging."""

from __future__ import annotations

import signal

import pytest
from click.testing import CliRunner

from infrastructure.settings import current_settings
from interfaces.cli import main

COMMANDS = [
    ["migrate"],
    ["create-tenant", "--name", "Bank", "--slug", "bank", "--admin-email", "a@bank.test"],
    ["create-platform-admin", "--email", "root@platform.test"],
    ["dev", "--no-demo"],
    ["api"],
    ["projections"],
    ["projections", "rebuild"],
    ["projections", "status"],
    ["projections", "dead-letters"],
    ["projections", "retry", "--all"],
    ["relay"],
    ["relay", "status"],
    ["gateway"],
    ["gateway", "status"],
    ["worker"],
]


@pytest.fixture(autouse=True)
def fresh_settings():
    """Each test reads its own environment; the roles' signal handlers are put back."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    current_settings.cache_clear()
    yield
    current_settings.cache_clear()
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_bad_setting_stops_every_command_with_one_error_naming_each_variable(argv):
    bad = {"SMARTQUEUE_DB_POOL_SIZE": "ten", "SMARTQUEUE_LOG_LEVEL": "loud"}
    result = CliRunner().invoke(main, argv, env=bad)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "SMARTQUEUE_DB_POOL_SIZE must be a whole number, 1 or more; got 'ten'" in result.output
    assert "SMARTQUEUE_LOG_LEVEL must be a log level" in result.output
    assert "Traceback" not in result.output


def test_a_process_reads_its_environment_once(monkeypatch):
    monkeypatch.setenv("SMARTQUEUE_WS_BACKLOG", "7")
    first = current_settings()
    monkeypatch.setenv("SMARTQUEUE_WS_BACKLOG", "8")
    assert current_settings() is first
    assert first.live.socket_backlog == 7


def test_each_command_reads_the_environment_it_is_given(monkeypatch):
    # A caller that ran one command (or read the settings) in this process, then runs another
    # with another environment, gets the new one: the cache lives for one command.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    current_settings()
    result = CliRunner().invoke(
        main, ["migrate"], env={"SMARTQUEUE_DB_POOL_SIZE": "ten"}, catch_exceptions=True
    )
    assert result.exit_code == 1
    assert "SMARTQUEUE_DB_POOL_SIZE" in result.output
