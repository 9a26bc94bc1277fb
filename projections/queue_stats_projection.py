"""The queue statistics projection: the :class:`~projections.queue_stats.QueueStatistics` fold,
run by the projection runner against a view that keeps the fold's state beside the rows.

Unlike the audit log, this read model is stateful: the fold remembers open visits and the
current days' counters between batches. Its view restores that state at the start of a batch
and stores it, with the changed rows, at the end, in the transaction that moves the tracking
position, so a crash or restart resumes exactly where the last commit left off.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from projections.base import Handler, Projection
from projections.queue_stats import HANDLERS, QueueStatistics


class StatisticsView(Protocol):
    """Holds the fold for the batch being applied (PostgreSQL, or a plain object in tests)."""

    statistics: QueueStatistics

    def fold(self, event: Any) -> None:
        """Fold ``event`` into ``statistics`` and remember that the state changed."""


def _fold(projection: Any, event: Any, position: int, view: StatisticsView) -> None:
    view.fold(event)


class QueueStatsProjection(Projection[StatisticsView]):
    """Waiting, called, serving, served, no-shows, waits, service times and SLA per queue and
    site-local day. Events the fold does not use only advance the position."""

    name: ClassVar[str] = "queue_stats"
    handlers: ClassVar[dict[type, Handler]] = dict.fromkeys(HANDLERS, _fold)

    def tables(self) -> tuple[str, ...]:
        return ("queue_stats",)
