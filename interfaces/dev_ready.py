"""``smartqueue dev`` says it is ready only once every role is: the API answers, the read models
have caught up with the log, the relay has published it and the display gateway holds its
partitions. A user who acts on the announcement then sees every change on the displays."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable

import structlog
from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine

from infrastructure.following.runner import read_models
from infrastructure.kafka.display_gateway import DisplayGateway
from infrastructure.kafka.relay import relay_lag
from infrastructure.roles.health import roles_health
from infrastructure.settings import SupervisionSettings

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.2
REMIND_SECONDS = 30.0


def waiting_for(
    api_url: str,
    engine: Engine,
    recorder: ApplicationRecorder,
    gateway: DisplayGateway,
    limits: SupervisionSettings,
) -> list[str]:
    """The roles not ready yet (empty once all are)."""
    missing = []
    try:
        with urllib.request.urlopen(f"{api_url}/api/v1/health/", timeout=2) as answer:  # noqa: S310 - our own URL
            answered = answer.status == 200
    except OSError:  # refused, reset, timed out, or an HTTP error status
        answered = False
    if not answered:
        missing.append("api")
    try:
        health = roles_health(engine, recorder, sorted(read_models()), limits)
        missing += [f"projection {row.name}" for row in health if row.behind]
        if relay_lag(engine, recorder).behind:
            missing.append("relay")
    except Exception as error:  # the database is still starting: ask again
        missing.append(f"database ({type(error).__name__})")
    if not gateway.pinned:
        missing.append("display gateway")
    return missing


def announce_when_ready(
    ready: Callable[[], list[str]], announce: Callable[[], None], stop: threading.Event
) -> threading.Thread:
    """Call ``announce`` once ``ready()`` reports nothing missing (logging what is missing every
    half minute meanwhile), in a daemon thread; gives up silently when ``stop`` is set."""

    def wait() -> None:
        remind = time.monotonic() + REMIND_SECONDS
        while not stop.is_set():
            missing = ready()
            if not missing:
                announce()
                return
            if time.monotonic() >= remind:
                log.warning("smartqueue dev still starting", waiting_for=missing)
                remind = time.monotonic() + REMIND_SECONDS
            stop.wait(POLL_SECONDS)

    thread = threading.Thread(target=wait, name="dev-ready", daemon=True)
    thread.start()
    return thread
