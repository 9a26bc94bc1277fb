"""Console tracebacks never print local variables: a password held in a frame that raised must not
reach the terminal (or a log file captured from it)."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import structlog

from infrastructure.logging import configure_logging, console_renderer
from infrastructure.settings import LogSettings

SECRET = "hunter2-correct-horse-battery"


def _sign_in(email: str) -> None:
    password = SECRET  # a local a rich traceback with show_locals would print
    raise PermissionError(f"cannot sign in {email} ({len(password)} characters given)")


def _exc_info() -> tuple:
    try:
        _sign_in("ada@example.test")
    except PermissionError:
        return sys.exc_info()
    raise AssertionError("no exception raised")


@pytest.mark.parametrize("colors", [True, False], ids=["colors", "monochrome"])
def test_the_console_renderer_formats_exceptions_without_locals(colors: bool):
    renderer = console_renderer(colors=colors)

    formatter = renderer.exception_formatter
    assert getattr(formatter, "show_locals", False) is False
    out = io.StringIO()
    formatter(out, _exc_info())
    assert "PermissionError" in out.getvalue()
    assert "_sign_in" in out.getvalue()
    assert SECRET not in out.getvalue()


@pytest.fixture
def restored_logging():
    """configure_logging changes process-wide state: put it back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def test_an_exception_logged_on_the_console_shows_its_stack_but_not_its_locals(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
):
    configure_logging(LogSettings(format="console", level="INFO"))
    log = structlog.get_logger("test.console")

    try:
        _sign_in("ada@example.test")
    except PermissionError:
        log.exception("sign-in failed")
    logging.getLogger("test.stdlib").error("stdlib too", exc_info=_exc_info())

    printed = capsys.readouterr().err
    assert "sign-in failed" in printed and "stdlib too" in printed
    assert printed.count("PermissionError") >= 2
    assert SECRET not in printed
