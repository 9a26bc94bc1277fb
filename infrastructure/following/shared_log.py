"""One read of the notification log for all the followers of a process.

A ``smartqueue projections`` process runs a follower per read model, and one doorbell wakes them
all at once: each used to read the same new notifications and decode the same events again
(eight reads and eight decodings of every event). :class:`SharedLog` reads once and hands the
decoded events to every follower that asks for the same stretch of the log.

It keeps one contiguous stretch ``(start, end]`` of the log, exactly as a read of the store
returned it. The stock recorder commits ids in id order (see
:mod:`infrastructure.following.runner`), so a read after ``start`` that returned everything up to
``end`` saw every id of that stretch that will ever exist; a follower at any position inside it
is served from memory, and what lies beyond ``end`` is read from the store and appended. A
follower outside the stretch (far behind, or a rebuild) reads the store directly and the stretch
starts again there. Nothing here changes what a follower applies: only where it reads it from.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification

KEEP = 20_000  # notifications kept in memory: a few seconds of a busy log


@dataclass(frozen=True)
class Decoded:
    """A notification and its domain event, or why it could not be decoded (the follower that
    applies it fails on it, counts it and may set it aside, as with any failing event)."""

    notification: Notification
    event: Any = None
    error: Exception | None = None


def _position(item: Decoded) -> int:
    return item.notification.id


class SharedLog:
    """The notification log as the followers of one process read it, read once."""

    def __init__(
        self, recorder: ApplicationRecorder, mapper: Mapper[Any], keep: int = KEEP
    ) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.keep = keep
        self._lock = threading.Lock()
        self._start = 0  # the stretch held: every notification with start < id <= end
        self._end = -1  # no stretch yet
        self._held: list[Decoded] = []
        self.reads = 0  # reads of the store, for tests and benchmarks
        self._in_round = False
        self._read_this_round = False

    @contextmanager
    def round(self) -> Iterator[None]:
        """One round of a follower group: the log's end is read at most once for all its
        followers (one that is outside the stretch still reads its own part). Its followers
        then see the same stretch, and commit together in the round's one transaction."""
        with self._lock:
            self._in_round, self._read_this_round = True, False
        try:
            yield
        finally:
            with self._lock:
                self._in_round = self._read_this_round = False

    def after(self, position: int, limit: int) -> list[Decoded]:
        """Up to ``limit`` notifications after ``position``, decoded, as the store has them.

        Followers woken together queue here behind the first one's read of the store: a read
        that ended while a follower waited serves it too, even if it reached fewer than its
        ``limit`` (the head of the log). Anything committed since, its doorbell rings for, and
        it asks again."""
        reads_before = self.reads
        with self._lock:
            moved = not self._start <= position <= self._end
            if moved:
                self._start = self._end = position
                self._held = []
            first = bisect_right(self._held, position, key=_position)  # held in id order
            served = self._held[first : first + limit]
            ahead = self.reads == reads_before and not self._read_this_round
            if len(served) < limit and (moved or ahead):
                self._read_this_round = self._in_round
                fresh = self._read(self._end, limit - len(served))
                self._held.extend(fresh)
                if fresh:
                    self._end = fresh[-1].notification.id
                served.extend(fresh)
            self._trim()
            return served

    def _read(self, after: int, limit: int) -> list[Decoded]:
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        self.reads += 1  # counted when it ends: the followers waiting meanwhile take its answer
        return [self._decode(notification) for notification in notifications]

    def _decode(self, notification: Notification) -> Decoded:
        try:
            return Decoded(notification, self.mapper.to_domain_event(notification))
        except Exception as error:  # the follower applying it fails on it, not this read
            return Decoded(notification, error=error)

    def _trim(self) -> None:
        excess = len(self._held) - self.keep
        if excess > 0:
            self._start = self._held[excess - 1].notification.id
            del self._held[:excess]
