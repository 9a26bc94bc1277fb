"""Read your writes: a command tells its log position; a query can wait for the read models.

Read models trail the event log by their projections' lag. A client that has just changed
something and wants to see it says so: it passes the position its command answered with, and the
query waits (briefly, with a bound) until every read model it reads has applied that position.
Without one, a query answers at once from whatever the read models hold.

The position travels out of a command without being threaded through every return value: the
request opens a :class:`LogPositions` record in a context variable, ``save_in_context`` notes the
position of each save in it, and the HTTP layer turns it into a response header. The record is a
mutable object, so a save in a worker thread (which runs in a copy of the request's context)
writes into the very record the request opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from application.errors import Unavailable
from domain.errors import InvalidInput

DEFAULT_WAIT_SECONDS = 3.0
POLL_SECONDS = 0.02


@dataclass
class LogPositions:
    """What one request wrote and read: the last log position of its events, and the position
    the read models it queried stood at."""

    written: int | None = None
    read: int | None = None


_current: ContextVar[LogPositions | None] = ContextVar("smartqueue_log_positions", default=None)


@contextmanager
def tracking_positions() -> Iterator[LogPositions]:
    """Open a record of the positions written and read until the block ends."""
    positions = LogPositions()
    token = _current.set(positions)
    try:
        yield positions
    finally:
        _current.reset(token)


def current_positions() -> LogPositions | None:
    """The record the current request opened, if any."""
    return _current.get()


def note_written(position: int | None) -> None:
    """Remember that the current command's events reach ``position`` in the log."""
    positions = _current.get()
    if positions is not None and position is not None:
        positions.written = max(position, positions.written or 0)


def note_read(position: int) -> None:
    """Remember the position the read models answering the current query stand at."""
    positions = _current.get()
    if positions is not None:
        positions.read = position if positions.read is None else min(position, positions.read)


class ReadModelBehind(Unavailable):
    """Raised when a read model did not reach the position a query asked for in time."""

    code = "read_model_behind"


class ProjectionPositions(Protocol):
    """Where projections stand (the tracking table) and where the log ends."""

    def positions(self, names: Iterable[str]) -> dict[str, int]:
        """The tracking position of each named projection (0 before its first batch)."""

    def head(self) -> int:
        """The position of the last event recorded (0 for an empty log)."""


@dataclass(frozen=True)
class Consistency:
    """Waits for read models to reach a position, within ``max_wait_seconds``."""

    store: ProjectionPositions
    max_wait_seconds: float = DEFAULT_WAIT_SECONDS
    poll_seconds: float = POLL_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def await_position(self, names: tuple[str, ...], min_position: int | None) -> int:
        """The lowest position among ``names`` once it is at least ``min_position``.

        Without ``min_position`` nothing waits. A position beyond the log's end can never be
        reached: that is the client's mistake (``InvalidInput``), not a reason to wait. After
        ``max_wait_seconds`` it raises :class:`ReadModelBehind` rather than answer with data older
        than the client asked for.
        """
        reached = min(self.store.positions(names).values())
        if min_position is None or reached >= min_position:
            note_read(reached)
            return reached
        head = self.store.head()
        if min_position > head:
            raise InvalidInput(
                f"min_position {min_position} is beyond the end of the event log ({head}); "
                "pass the X-Log-Position a command answered with"
            )
        deadline = self.clock() + self.max_wait_seconds
        while reached < min_position:
            if self.clock() >= deadline:
                raise ReadModelBehind(
                    f"the read models stand at position {reached}, behind the {min_position} "
                    f"asked for, after waiting {self.max_wait_seconds:g} s; retry, or ask "
                    "without min_position for what they hold now"
                )
            self.sleep(self.poll_seconds)
            reached = min(self.store.positions(names).values())
        note_read(reached)
        return reached
