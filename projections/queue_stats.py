"""Queue statistics read model: a pure fold of ``Ticket`` and ``Queue`` events into day rows.

Feed every event of the log, in log order, to :meth:`QueueStatistics.apply`; events it does not
use are ignored. Handlers assume each event arrives at most once: the runner tracks positions and
never re-applies one. The same fold serves incremental processing (apply a batch, then store
:meth:`QueueStatistics.drain_changed`) and rebuilds (apply everything, then store
:meth:`QueueStatistics.rows`). See :mod:`projections.queue_day` for how visits map to days.

Definitions (DESIGN.md §9), per visit of a ticket to a queue: wait = first call in this queue -
the moment the ticket joined it (its issue, or its transfer in); service time = completion -
service start. A ticket never transferred therefore has exactly the wait of §9.

Keeping the state small (:meth:`QueueStatistics.prune`): the state holds every day bucket it has
seen, so a long-running projection would carry years of finished days. A bucket can only change
through (a) a visit opening in it, which needs an event whose moment falls on that site-local
day, or (b) a later event of a visit that opened in it and is still open. Once no open visit
belongs to a bucket and the newest event folded in is at least :data:`PRUNE_GRACE` past the end of
the bucket's day, neither can happen any more: events reach the log in the order of their
moments, give or take the time between a command reading its clock and committing (milliseconds,
at worst the skew between API hosts' clocks, far below the grace). The bucket's row is then
final, so once that row is stored the bucket can be forgotten without changing any row ever
written. (Were a visit still to open on a forgotten day, its bucket would start again from zero
and its row would overwrite the stored one: that is the hazard the grace keeps out.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from domain.queues import Queue
from domain.tickets import Ticket, TicketStatus
from projections.queue_day import (
    FINISHED,
    TRANSFERRED_OUT,
    FoldState,
    QueueDay,
    QueueStatsRow,
    SlaRule,
    Visit,
    VisitStatus,
)

V = TicketStatus

# How far past the end of a day the newest event must be before that day's finished buckets are
# forgotten (see the module docstring).
PRUNE_GRACE = timedelta(hours=1)


class QueueStatistics:
    """The queue statistics of every queue and day, kept up to date one event at a time."""

    def __init__(self, sla: SlaRule | None = None, state: FoldState | None = None) -> None:
        self.sla = sla or SlaRule()
        state = state or FoldState()
        self._timezones = state.timezones
        self._days = {(day.queue_id, day.day): day for day in state.days}
        self._visits = state.visits  # finished visits are forgotten: the state stays small
        self._targets = {(t, q): seconds for t, q, seconds in state.targets}  # joins seen early
        self._newest = state.newest
        self._changed: set[tuple[UUID, date]] = set()

    def dump(self) -> bytes:
        """The whole state as JSON, to store beside the rows and the tracking position, so a
        restarted runner resumes with :meth:`restore` instead of replaying the log."""
        targets = [(t, q, seconds) for (t, q), seconds in self._targets.items()]
        days = list(self._days.values())
        state = FoldState(self._timezones, days, self._visits, targets, self._newest)
        return msgspec.json.encode(state)

    @classmethod
    def restore(cls, dumped: bytes, sla: SlaRule | None = None) -> QueueStatistics:
        """The fold as it was when :meth:`dump` was called (give it the same ``sla`` rule)."""
        return cls(sla, msgspec.json.decode(dumped, type=FoldState))

    # -- the public surface -----------------------------------------------------------------------

    def apply(self, event: Any) -> None:
        """Fold one domain event in; types this model does not use are ignored."""
        handler = HANDLERS.get(type(event))
        if handler is None:
            return
        if type(event) in NEED_A_VISIT and event.originator_id not in self._visits:
            return  # a ticket whose visit this model never saw open (its log began later)
        handler(self, event)
        moment = getattr(event, "at", None) or getattr(event, "issued_at", None)
        if isinstance(moment, datetime) and (self._newest is None or moment > self._newest):
            self._newest = moment

    def apply_all(self, events: Iterable[Any]) -> None:
        """Fold events in, in order."""
        for event in events:
            self.apply(event)

    def row(self, queue_id: UUID, day: date) -> QueueStatsRow | None:
        """The row of one queue and site-local day, or ``None`` if nothing happened then."""
        bucket = self._days.get((queue_id, day))
        return None if bucket is None else bucket.snapshot()

    def rows(self) -> list[QueueStatsRow]:
        """Every row, ordered by queue and day (what a rebuild stores)."""
        return [self._days[key].snapshot() for key in sorted(self._days, key=_sort_key)]

    def drain_changed(self) -> list[QueueStatsRow]:
        """The rows changed since the last drain (what an incremental batch stores)."""
        keys, self._changed = sorted(self._changed, key=_sort_key), set()
        return [self._days[key].snapshot() for key in keys]

    def prune(self) -> int:
        """Forget the day buckets whose rows are final (no open visit, day ended at least
        :data:`PRUNE_GRACE` before the newest event); how many. Call it only after the rows of
        :meth:`drain_changed` are stored: a bucket changed since the last drain is kept."""
        if self._newest is None:
            return 0
        cutoff = self._newest - PRUNE_GRACE
        still_open = {(visit.queue_id, visit.day) for visit in self._visits.values()}
        cutoff_days: dict[UUID, date] = {}
        final = []
        for key in self._days:
            queue_id, day = key
            if queue_id not in cutoff_days:
                zone = ZoneInfo(self._timezones.get(queue_id, "UTC"))
                cutoff_days[queue_id] = cutoff.astimezone(zone).date()
            if day < cutoff_days[queue_id] and key not in still_open and key not in self._changed:
                final.append(key)
        for key in final:
            del self._days[key]
        return len(final)

    @property
    def day_count(self) -> int:
        """How many day buckets the state holds."""
        return len(self._days)

    # -- queues -----------------------------------------------------------------------------------

    def _queue_opened(self, event: Queue.Opened) -> None:
        self._timezones[event.originator_id] = event.timezone

    def _queue_timezone_changed(self, event: Queue.TimezoneChanged) -> None:
        self._timezones[event.originator_id] = event.timezone

    def _ticket_joined(self, event: Queue.TicketJoined) -> None:
        visit = self._visits.get(event.ticket_id)
        if visit and visit.queue_id == event.originator_id and visit.target_wait_seconds is None:
            visit.target_wait_seconds = event.target_wait_seconds
        else:  # the ticket's own event comes later in the same transaction
            self._targets[(event.ticket_id, event.originator_id)] = event.target_wait_seconds

    # -- tickets ----------------------------------------------------------------------------------

    def _issued(self, event: Ticket.Issued) -> None:
        ticket_id, tenant_id = event.originator_id, event.tenant_id
        self._open_visit(ticket_id, tenant_id, event.queue_id, event.issued_at).issued += 1

    def _transferred(self, event: Ticket.Transferred) -> None:
        tenant_id = self._move(event.originator_id, TRANSFERRED_OUT)[1].tenant_id
        bucket = self._open_visit(event.originator_id, tenant_id, event.to_queue_id, event.at)
        bucket.transferred_in += 1

    def _called(self, event: Ticket.Called) -> None:
        # Only a waiting ticket can be called and only a transfer makes it wait again, so this is
        # the first call of the visit.
        visit, bucket = self._move(event.originator_id, V.CALLED)
        visit.called_at = event.at
        wait = (event.at - visit.joined_at).total_seconds()
        bucket.waits.add(wait)
        if visit.target_wait_seconds is not None:
            visit.sla_met = wait <= visit.target_wait_seconds
            bucket.count_sla(visit.sla_met)

    def _service_started(self, event: Ticket.ServiceStarted) -> None:
        self._move(event.originator_id, V.SERVING)[0].started_at = event.at

    def _paused(self, event: Ticket.Paused) -> None:
        self._move(event.originator_id, V.PAUSED)

    def _resumed(self, event: Ticket.Resumed) -> None:
        self._move(event.originator_id, V.SERVING)

    def _completed(self, event: Ticket.Completed) -> None:
        visit, bucket = self._move(event.originator_id, V.COMPLETED)
        if visit.started_at is not None:
            bucket.services.add((event.at - visit.started_at).total_seconds())

    def _marked_no_show(self, event: Ticket.MarkedNoShow) -> None:
        visit, bucket = self._move(event.originator_id, V.NO_SHOW)
        if not self.sla.count_no_show and visit.sla_met is not None:
            bucket.count_sla(visit.sla_met, sign=-1)

    def _cancelled(self, event: Ticket.Cancelled) -> None:
        was_waiting = self._visits[event.originator_id].status == V.WAITING
        visit, bucket = self._move(event.originator_id, V.CANCELLED)
        if not was_waiting:
            return  # cancelled after the call: its SLA outcome was decided then
        bucket.abandoned += 1
        waited = (event.at - visit.joined_at).total_seconds()
        target = visit.target_wait_seconds
        if self.sla.count_abandoned and target is not None and waited > target:
            bucket.count_sla(False)

    # -- bookkeeping ------------------------------------------------------------------------------

    def _open_visit(
        self, ticket_id: UUID, tenant_id: UUID, queue_id: UUID, joined_at: datetime
    ) -> QueueDay:
        zone = ZoneInfo(self._timezones.get(queue_id, "UTC"))
        key = (queue_id, joined_at.astimezone(zone).date())
        bucket = self._days.get(key)
        if bucket is None:
            bucket = self._days[key] = QueueDay(tenant_id, queue_id, key[1])
        target = self._targets.pop((ticket_id, queue_id), None)
        self._visits[ticket_id] = Visit(queue_id, key[1], joined_at, target_wait_seconds=target)
        bucket.move(None, V.WAITING)
        bucket.waiting_since[ticket_id] = joined_at
        self._changed.add(key)
        return bucket

    def _move(self, ticket_id: UUID, status: VisitStatus) -> tuple[Visit, QueueDay]:
        visit = self._visits[ticket_id]
        key = (visit.queue_id, visit.day)
        bucket = self._days[key]
        bucket.move(visit.status, status)
        if visit.status == V.WAITING:
            del bucket.waiting_since[ticket_id]
        if status in FINISHED:
            del self._visits[ticket_id]  # over: only the day's count keeps its last status
        else:
            visit.status = TicketStatus(status)
        self._changed.add(key)
        return visit, bucket


def _sort_key(key: tuple[UUID, date]) -> tuple[str, date]:
    return str(key[0]), key[1]


S = QueueStatistics
HANDLERS: dict[type, Callable[[QueueStatistics, Any], None]] = {
    Queue.Opened: S._queue_opened,
    Queue.TimezoneChanged: S._queue_timezone_changed,
    Queue.TicketJoined: S._ticket_joined,
    Ticket.Issued: S._issued,
    Ticket.Transferred: S._transferred,
    Ticket.Called: S._called,
    Ticket.ServiceStarted: S._service_started,
    Ticket.Paused: S._paused,
    Ticket.Resumed: S._resumed,
    Ticket.Completed: S._completed,
    Ticket.MarkedNoShow: S._marked_no_show,
    Ticket.Cancelled: S._cancelled,
}
NEED_A_VISIT = frozenset(HANDLERS) - {
    Queue.Opened,
    Queue.TimezoneChanged,
    Queue.TicketJoined,
    Ticket.Issued,
}
