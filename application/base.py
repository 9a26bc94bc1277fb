"""The event-sourced application base: context stamping, concurrency retries, tenant-safe loads."""

from __future__ import annotations

import contextlib
import functools
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    LRUCache,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    EventStore,
    IntegrityError,
    JSONTranscoder,
    Recording,
    Transcoding,
)

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


class FastForwardingRepository(Repository[UUID]):
    """A repository that keeps recently loaded aggregates in memory (least recently used out)
    and, on every load, brings the kept copy up to date with the events stored since (fast
    forward) before handing out a private deep copy of it.

    Several processes write the same aggregates, so a kept copy is never trusted as it is: each
    load reads the store for newer events (one query, usually empty, instead of a snapshot and
    up to ``SNAPSHOT_INTERVAL - 1`` events to replay). Commands only ever change their copy: the
    kept one advances only by stored events, so a save that loses an optimistic race leaves no
    pending event behind in it, and the retry fast-forwards to the winner's events.

    The library's own cache (``AGGREGATE_CACHE_MAXSIZE`` on its ``Repository``) deep-copies the
    kept aggregate after releasing the aggregate's lock, so another thread could be
    fast-forwarding it meanwhile and the copy mix two versions; here the fast forward and the
    copy happen under one lock. Only the library's public API is used: a cache miss is the stock
    load (snapshot, then events). A fast forward that fails half-way (a lost connection) drops
    the kept copy, which the next load rebuilds from the store.
    """

    LOCK_STRIPES = 64
    """Loads of one aggregate take one of these locks, chosen by its id; loads of different
    aggregates rarely wait for each other, and only while copying."""

    def __init__(
        self, event_store: EventStore[UUID], snapshot_store: EventStore[UUID] | None, size: int
    ) -> None:
        super().__init__(event_store, snapshot_store=snapshot_store)
        self.kept: LRUCache[UUID, Any] = LRUCache(maxsize=size)
        self._locks = [threading.Lock() for _ in range(self.LOCK_STRIPES)]

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        with self._locks[aggregate_id.int % self.LOCK_STRIPES]:
            if version is None:
                return private_copy(self._up_to_date(aggregate_id, projector_func))
            if aggregate_id in self.kept.cache:
                # A given version: a snapshot of the version just saved, usually. The kept copy
                # fast-forwarded is that version unless another writer has saved since.
                aggregate = self._up_to_date(aggregate_id, projector_func)
                if aggregate.version == version:
                    return private_copy(aggregate)
        return super().get(aggregate_id, version=version, projector_func=projector_func)

    def advance(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Apply the events this process has just stored to the kept copies they follow on
        from, as a fast forward would after reading them back; an aggregate created by them is
        kept from its first event. A kept copy they do not follow on from (another writer's
        events came in between, or it was dropped) is left for the next load to fast-forward."""
        events: dict[UUID, list[Any]] = {}
        for recording in recordings:
            event = recording.domain_event
            events.setdefault(event.originator_id, []).append(event)
        for aggregate_id, stored in events.items():
            with self._locks[aggregate_id.int % self.LOCK_STRIPES]:
                try:
                    kept = self.kept.get(aggregate_id)
                except KeyError:
                    kept = None
                previous = kept.version if kept is not None else Aggregate.INITIAL_VERSION - 1
                if stored[0].originator_version != previous + 1:
                    continue
                try:
                    # Copies of the events: the command's aggregate applied these very objects,
                    # and a list one of them carries must not be shared with the kept copy (the
                    # command may go on changing its aggregate in place).
                    self.kept.put(aggregate_id, mutated(kept, deepcopy(stored)))
                except Exception:  # the save has committed: forget the copy, never fail it
                    with contextlib.suppress(KeyError):
                        self.kept.get(aggregate_id, evict=True)

    def _up_to_date(self, aggregate_id: UUID, projector_func: ProjectorFunction[Any, Any]) -> Any:
        """The kept aggregate, fast-forwarded to the last stored event (the caller holds the
        aggregate's lock)."""
        try:
            kept = self.kept.get(aggregate_id)
        except KeyError:
            aggregate = super().get(aggregate_id, projector_func=projector_func)
            self.kept.put(aggregate_id, aggregate)
            return aggregate
        try:
            newer = self.event_store.get(originator_id=aggregate_id, gt=kept.version)
            project = mutated if projector_func is project_aggregate else projector_func
            aggregate = project(kept, newer)
            if aggregate is None:  # discarded by a stored event
                raise AggregateNotFoundError(aggregate_id)
        except BaseException:
            with contextlib.suppress(KeyError):
                self.kept.get(aggregate_id, evict=True)
            raise
        return aggregate


SHARED_VALUES = (UUID, datetime, WaitingTicket)
"""Immutable values a copy of an aggregate shares with the kept aggregate instead of copying
them (copying a UUID or a datetime costs as much as copying a small dict)."""


def private_copy(aggregate: Any) -> Any:
    """A deep copy of ``aggregate`` that shares its immutable values (``SHARED_VALUES``, held
    directly or in a list or tuple attribute) with it: what a command may change is copied."""
    memo: dict[int, Any] = {}
    for value in vars(aggregate).values():
        if isinstance(value, SHARED_VALUES):
            memo[id(value)] = value
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, SHARED_VALUES):
                    memo[id(item)] = item
    return deepcopy(aggregate, memo)


def mutated(aggregate: Any, events: Iterable[Any]) -> Any:
    """``project_aggregate`` without its per-event ``isinstance`` check against a runtime
    ``Protocol``, which costs more than applying a small event (about 0.1 ms each)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


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

    def construct_repository(self) -> Repository[UUID]:
        """A ``FastForwardingRepository`` keeping up to ``AGGREGATE_CACHE_MAXSIZE`` aggregates;
        without the setting, or with 0, the library's repository that replays every load
        (the library would read 0 as "keep every aggregate, unbounded")."""
        size = int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 0)
        if size <= 0:
            return Repository(self.events, snapshot_store=self.snapshots)
        return FastForwardingRepository(self.events, self.snapshots, size)

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

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save; the kept copies of the aggregates saved then take the events
        just stored (a load after it finds them up to date, or reads nothing to apply)."""
        recordings = super().save(*objs, **kwargs)
        if isinstance(self.repository, FastForwardingRepository):
            self.repository.advance(recordings)
        return recordings

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
