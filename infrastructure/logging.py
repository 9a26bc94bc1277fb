"""structlog, configured once per process: human-friendly on a terminal, JSON otherwise."""

from __future__ import annotations

import importlib.util
import logging
import sys

import structlog

from infrastructure.settings import LogSettings


def configure_logging(settings: LogSettings) -> None:
    """Route structlog and the standard library's logging through one renderer."""
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stderr.isatty())
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if as_json
        else console_renderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info if as_json else structlog.dev.set_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    # uvicorn's access log would repeat our one summary line per request.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def console_renderer(colors: bool) -> structlog.dev.ConsoleRenderer:
    """The human-friendly renderer, with tracebacks that never show local variables.

    structlog's default console formatter is Rich's traceback with ``show_locals=True``: every
    frame's locals (passwords, tokens, a customer's phone number) would be printed to the
    terminal and to any file capturing it.
    """
    formatter: structlog.typing.ExceptionRenderer = structlog.dev.plain_traceback
    if importlib.util.find_spec("rich") is not None:
        formatter = structlog.dev.RichTracebackFormatter(
            show_locals=False, color_system="truecolor" if colors else None
        )
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=formatter)
