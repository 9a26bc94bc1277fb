"""The event-sourced application base: context stamping, concurrency retries, tenant-safe loads."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from application.consistency import note_written
from application.context import CommandContext
from application.errors import Contention
from application.ports import SideWrite
from domain.errors import NotFound
from domain.policies import WaitingTicket

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A", bound=Aggregate)

# The keywords of ``save`` that the event store and the recorder configured for SmartQueue act on
# (a stock store or recorder would ignore them).
METADATA = "metadata"
SIDE_WRITES = "side_writes"

MAX_ATTEMPTS = 40
BACKOFF_CAP_SECONDS = 0.1


class StaleRead(Exception):
    """Raised inside a command that notices two aggregates it loaded disagree (one was changed
    between the two loads); the command is then retried like a lost save."""


def retry_on_conflict(command: Callable[P, R]) -> Callable[P, R]:
    """Re-run a whole load-decide-save command when another writer saved first.

    Bounded and jittered ("full jitter"), so a crowd of callers spreads out instead of colliding
    again in lockstep. The command must load everything afresh on each attempt.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return command(*args, **kwargs)
            except (IntegrityError, StaleRead):
                if attempt == MAX_ATTEMPTS - 1:
                    break
                time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, 0.002 * 2**attempt)))
        raise Contention("too many concurrent changes to the same records; try again")

    return wrapper


class WaitingTicketAsDict(Transcoding):
    """Lets queue snapshots carry their waiting line."""

    type = WaitingTicket
    name = "waiting_ticket"

    def encode(self, obj: WaitingTicket) -> dict[str, Any]:
        return {
            "ticket_id": obj.ticket_id,
            "rank": obj.rank,
            "priority": obj.priority,
            "issued_at": obj.issued_at,
            "target_wait_seconds": obj.target_wait_seconds,
        }

    def decode(self, data: dict[str, Any]) -> WaitingTicket:
        return WaitingTicket(**data)


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class ContextualApplication(Application[UUID]):
    """An Application whose saves stamp the command's context on every event, atomically."""

    def __init__(
        self, env: dict[str, str] | None = None, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(env)
        self.clock = clock

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(WaitingTicketAsDict())

    def save_in_context(
        self,
        context: CommandContext,
        *aggregates: Aggregate,
        side_writes: Sequence[SideWrite] = (),
    ) -> int | None:
        """Save all pending events of ``aggregates`` in one transaction, each stamped with the
        command's metadata. Returns the log position of the last event, if any was recorded.

        The metadata is stamped by the event store rather than passed through every domain
        method: it says who asked, not what the domain decided. ``side_writes`` (plain-table
        changes, such as a customer's personal data) are applied by the recorder in the same
        transaction. Both travel as keywords of the library's ``save``, which hands them to the
        event store and on to the recorder.
        """
        # A stock recorder or event store would silently drop these keywords: refuse rather
        # than lose a customer's data or the audit trail.
        keywords: dict[str, Any] = {METADATA: context.as_metadata()}
        side_writes = (*side_writes, *context.side_writes)
        if side_writes:
            if not getattr(self.recorder, "applies_side_writes", False):
                raise RuntimeError(
                    f"{type(self.recorder).__name__} cannot apply side writes; configure a "
                    "side-writing recorder (APPLICATION_RECORDER_TOPIC)"
                )
            keywords[SIDE_WRITES] = side_writes
        if not getattr(self.events, "stamps_metadata", False):
            raise RuntimeError(
                f"{type(self.events).__name__} cannot stamp events with metadata; configure a "
                "stamping event store (PERSISTENCE_MODULE)"
            )
        recordings = self.save(*aggregates, **keywords)
        position = recordings[-1].notification.id if recordings else None
        note_written(position)
        return position

    def load(
        self, cls: type[A], aggregate_id: UUID, tenant_id: UUID | None, error: type[NotFound]
    ) -> A:
        """Load an aggregate of type ``cls`` that belongs to ``tenant_id``, else raise ``error``.

        A tenant owns itself; every other aggregate names its tenant. Another tenant's aggregate,
        or any aggregate when no tenant is given, is reported exactly like a missing one.
        """
        missing = error(f"no {cls.__name__.lower()} with id {aggregate_id}")
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing from None
        owner = getattr(aggregate, "tenant_id", aggregate.id)
        if not isinstance(aggregate, cls) or tenant_id is None or owner != tenant_id:
            raise missing
        return aggregate

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Load an aggregate by id, or ``None`` if there is none of that type."""
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None
