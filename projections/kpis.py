"""KPI read model: a pure fold of ``Ticket`` and ``Queue`` events into hourly buckets.

A bucket is (tenant, site, service, queue, agent or none, site-local day, site-local hour). The
definitions are the queue statistics' (:mod:`projections.queue_stats`, DESIGN.md §9): a ticket's
*visit* to a queue starts when it is issued into it or transferred into it, and every fact of the
visit counts in the bucket of the site-local hour the visit started (the queue's time zone, so a
fall-back night's repeated hour shares one bucket and a spring-forward day has 23). The agent of
a visit is the one who called it: an uncalled visit sits under "no agent", and its first call
moves it, arrival included, into its agent's bucket, so a bucket's figures always describe the
same visits. Per visit: wait = first call in this queue - joining it; service time = completion -
service start; SLA as :class:`projections.queue_day.SlaRule` says.

Each bucket keeps counts (arrivals by channel, served, no-shows, cancellations, abandonments =
cancelled while waiting, transfers out), sums and maxima of waits and service times, and a
:class:`~projections.kpis_sketch.Sketch` of each, so any set of buckets merges exactly.

State is kept small as the queue statistics do it (see that module's docstring): a (queue, day)'s
buckets are forgotten once no open visit belongs to that queue and day and the newest event is
:data:`PRUNE_GRACE` past the day's end. The agent move only touches buckets of the visit's own
(queue, day, hour), which an open visit keeps in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import msgspec

from domain.queues import Queue
from domain.tickets import Ticket
from projections.kpis_sketch import Sketch
from projections.queue_day import SlaRule
from projections.queue_stats import PRUNE_GRACE

TRANSFER = "transfer"
"""The arrival channel of a visit that began with a transfer in."""

BUCKETS = uuid5(UUID(int=0), "smartqueue.kpis")

# (site, service, queue, agent, day, hour)
Key = tuple[UUID, UUID, UUID, UUID | None, date, int]


class KpiBucket(msgspec.Struct):
    """The figures of one bucket; a row of table ``kpis`` (``bucket_id`` names the key)."""

    tenant_id: UUID
    site_id: UUID
    service_id: UUID
    queue_id: UUID
    agent_id: UUID | None
    day: date
    hour: int
    arrivals: dict[str, int] = msgspec.field(default_factory=dict)
    served: int = 0
    no_shows: int = 0
    cancellations: int = 0
    abandonments: int = 0
    transferred_out: int = 0
    waits_counted: int = 0
    wait_total_seconds: float = 0.0
    wait_max_seconds: float | None = None
    wait_sketch: Sketch = msgspec.field(default_factory=Sketch)
    services_counted: int = 0
    service_total_seconds: float = 0.0
    service_max_seconds: float | None = None
    service_sketch: Sketch = msgspec.field(default_factory=Sketch)
    sla_met: int = 0
    sla_counted: int = 0

    @property
    def key(self) -> Key:
        return (
            self.site_id,
            self.service_id,
            self.queue_id,
            self.agent_id,
            self.day,
            self.hour,
        )

    @property
    def bucket_id(self) -> UUID:
        """A stable id of the key (the table's primary key: ``agent_id`` may be null)."""
        return bucket_id(self.key)

    @property
    def arrival_count(self) -> int:
        return sum(self.arrivals.values())

    def add_wait(self, seconds: float) -> None:
        self.waits_counted += 1
        self.wait_total_seconds += seconds
        self.wait_max_seconds = max(self.wait_max_seconds or 0.0, seconds)
        self.wait_sketch.add(seconds)

    def add_service(self, seconds: float) -> None:
        self.services_counted += 1
        self.service_total_seconds += seconds
        self.service_max_seconds = max(self.service_max_seconds or 0.0, seconds)
        self.service_sketch.add(seconds)

    def count_sla(self, met: bool, sign: int = 1) -> None:
        self.sla_counted += sign
        self.sla_met += sign if met else 0


def bucket_id(key: Key) -> UUID:
    """The primary key of a bucket (``uuid5`` of its key)."""
    return uuid5(BUCKETS, "|".join(str(part) for part in key))


class KpiVisit(msgspec.Struct):
    """What the fold remembers about an open visit of a ticket to a queue."""

    tenant_id: UUID
    key: Key
    channel: str
    joined_at: datetime
    status: str = "waiting"  # waiting, called, serving, paused
    target_wait_seconds: int | None = None
    started_at: datetime | None = None
    sla_met: bool | None = None


class QueuePlace(msgspec.Struct):
    """Where a queue is: its site and time zone."""

    site_id: UUID
    timezone: str


class KpiState(msgspec.Struct):
    """Everything a :class:`KpiFold` knows, in a form msgspec can encode."""

    queues: dict[UUID, QueuePlace] = msgspec.field(default_factory=dict)
    buckets: list[KpiBucket] = msgspec.field(default_factory=list)
    visits: dict[UUID, KpiVisit] = msgspec.field(default_factory=dict)
    targets: list[tuple[UUID, UUID, int]] = msgspec.field(default_factory=list)
    newest: datetime | None = None


class KpiFold:
    """Every KPI bucket, kept up to date one event at a time (same contract as
    :class:`projections.queue_stats.QueueStatistics`: each event once, in log order)."""

    def __init__(self, sla: SlaRule | None = None, state: KpiState | None = None) -> None:
        self.sla = sla or SlaRule()
        state = state or KpiState()
        self._queues = state.queues
        self._buckets = {bucket.key: bucket for bucket in state.buckets}
        self._visits = state.visits
        self._targets = {(t, q): seconds for t, q, seconds in state.targets}
        self._newest = state.newest
        self._changed: set[Key] = set()

    def dump(self) -> bytes:
        """The whole state as JSON (stored beside the rows and the position)."""
        targets = [(t, q, seconds) for (t, q), seconds in self._targets.items()]
        state = KpiState(
            self._queues, list(self._buckets.values()), self._visits, targets, self._newest
        )
        return msgspec.json.encode(state)

    @classmethod
    def restore(cls, dumped: bytes, sla: SlaRule | None = None) -> KpiFold:
        """The fold as it was when :meth:`dump` was called."""
        return cls(sla, msgspec.json.decode(dumped, type=KpiState))

    def apply(self, event: Any) -> None:
        """Fold one domain event in; types this model does not use are ignored."""
        handler = HANDLERS.get(type(event))
        if handler is None:
            return
        if type(event) in NEED_A_VISIT and event.originator_id not in self._visits:
            return  # a visit this model never saw open
        handler(self, event)
        moment = getattr(event, "at", None) or getattr(event, "issued_at", None)
        if isinstance(moment, datetime) and (self._newest is None or moment > self._newest):
            self._newest = moment

    def apply_all(self, events: Iterable[Any]) -> None:
        for event in events:
            self.apply(event)

    def buckets(self) -> list[KpiBucket]:
        """Every bucket held with a visit in it, in key order (the rows the table holds)."""
        keys = sorted(self._buckets, key=_sort_key)
        return [self._buckets[key] for key in keys if self._buckets[key].arrival_count]

    def drain_changed(self) -> list[KpiBucket]:
        """The buckets changed since the last drain (possibly emptied by an agent move)."""
        keys, self._changed = sorted(self._changed, key=_sort_key), set()
        return [self._buckets[key] for key in keys]

    def prune(self) -> int:
        """Forget buckets whose rows are final; call only after the drained rows are stored."""
        if self._newest is None:
            return 0
        cutoff = self._newest - PRUNE_GRACE
        still_open = {(v.key[2], v.key[4]) for v in self._visits.values()}
        final = []
        for key in self._buckets:
            queue_id, day = key[2], key[4]
            zone = ZoneInfo(self._timezone(queue_id))
            if (
                day < cutoff.astimezone(zone).date()
                and (queue_id, day) not in still_open
                and key not in self._changed
            ):
                final.append(key)
        for key in final:
            del self._buckets[key]
        return len(final)

    # -- queues -----------------------------------------------------------------------------------

    def _queue_opened(self, event: Queue.Opened) -> None:
        self._queues[event.originator_id] = QueuePlace(event.site_id, event.timezone)

    def _queue_timezone_changed(self, event: Queue.TimezoneChanged) -> None:
        place = self._queues.get(event.originator_id)
        if place is not None:
            place.timezone = event.timezone

    def _ticket_joined(self, event: Queue.TicketJoined) -> None:
        visit = self._visits.get(event.ticket_id)
        if visit and visit.key[2] == event.originator_id and visit.target_wait_seconds is None:
            visit.target_wait_seconds = event.target_wait_seconds
        else:  # the ticket's own event comes later in the same transaction
            self._targets[(event.ticket_id, event.originator_id)] = event.target_wait_seconds

    # -- tickets ----------------------------------------------------------------------------------

    def _issued(self, event: Ticket.Issued) -> None:
        self._open(
            event.originator_id,
            event.tenant_id,
            event.queue_id,
            event.service_id,
            event.channel,
            event.issued_at,
        )

    def _transferred(self, event: Ticket.Transferred) -> None:
        visit, bucket = self._finish(event.originator_id)
        bucket.transferred_out += 1
        self._open(
            event.originator_id,
            visit.tenant_id,
            event.to_queue_id,
            event.to_service_id,
            TRANSFER,
            event.at,
        )

    def _called(self, event: Ticket.Called) -> None:
        # Only a waiting ticket can be called and only a transfer makes it wait again: the first
        # call of the visit. Its arrival moves to the calling agent's bucket.
        visit = self._visits[event.originator_id]
        old = self._bucket(visit.tenant_id, visit.key)
        old.arrivals[visit.channel] -= 1
        if not old.arrivals[visit.channel]:
            del old.arrivals[visit.channel]
        site, service, queue, _, day, hour = visit.key
        visit.key = (site, service, queue, event.agent_id, day, hour)
        bucket = self._bucket(visit.tenant_id, visit.key)
        bucket.arrivals[visit.channel] = bucket.arrivals.get(visit.channel, 0) + 1
        visit.status = "called"
        wait = (event.at - visit.joined_at).total_seconds()
        bucket.add_wait(wait)
        if visit.target_wait_seconds is not None:
            visit.sla_met = wait <= visit.target_wait_seconds
            bucket.count_sla(visit.sla_met)

    def _service_started(self, event: Ticket.ServiceStarted) -> None:
        visit = self._touch(event.originator_id)[0]
        visit.status, visit.started_at = "serving", event.at

    def _paused(self, event: Ticket.Paused) -> None:
        self._touch(event.originator_id)[0].status = "paused"

    def _resumed(self, event: Ticket.Resumed) -> None:
        self._touch(event.originator_id)[0].status = "serving"

    def _completed(self, event: Ticket.Completed) -> None:
        visit, bucket = self._finish(event.originator_id)
        bucket.served += 1
        if visit.started_at is not None:
            bucket.add_service((event.at - visit.started_at).total_seconds())

    def _marked_no_show(self, event: Ticket.MarkedNoShow) -> None:
        visit, bucket = self._finish(event.originator_id)
        bucket.no_shows += 1
        if not self.sla.count_no_show and visit.sla_met is not None:
            bucket.count_sla(visit.sla_met, sign=-1)

    def _cancelled(self, event: Ticket.Cancelled) -> None:
        visit, bucket = self._finish(event.originator_id)
        bucket.cancellations += 1
        if visit.status != "waiting":
            return  # cancelled after the call: its SLA outcome was decided then
        bucket.abandonments += 1
        waited = (event.at - visit.joined_at).total_seconds()
        target = visit.target_wait_seconds
        if self.sla.count_abandoned and target is not None and waited > target:
            bucket.count_sla(False)

    # -- bookkeeping ------------------------------------------------------------------------------

    def _timezone(self, queue_id: UUID) -> str:
        place = self._queues.get(queue_id)
        return "UTC" if place is None else place.timezone

    def _open(
        self,
        ticket_id: UUID,
        tenant_id: UUID,
        queue_id: UUID,
        service_id: UUID,
        channel: str,
        joined_at: datetime,
    ) -> None:
        place = self._queues.get(queue_id)
        site_id = queue_id if place is None else place.site_id  # a queue never seen opened
        local = joined_at.astimezone(ZoneInfo(self._timezone(queue_id)))
        key: Key = (site_id, service_id, queue_id, None, local.date(), local.hour)
        bucket = self._bucket(tenant_id, key)
        bucket.arrivals[channel] = bucket.arrivals.get(channel, 0) + 1
        target = self._targets.pop((ticket_id, queue_id), None)
        self._visits[ticket_id] = KpiVisit(
            tenant_id, key, channel, joined_at, target_wait_seconds=target
        )

    def _bucket(self, tenant_id: UUID, key: Key) -> KpiBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = KpiBucket(tenant_id, *key)
        self._changed.add(key)
        return bucket

    def _touch(self, ticket_id: UUID) -> tuple[KpiVisit, KpiBucket]:
        visit = self._visits[ticket_id]
        return visit, self._bucket(visit.tenant_id, visit.key)

    def _finish(self, ticket_id: UUID) -> tuple[KpiVisit, KpiBucket]:
        visit, bucket = self._touch(ticket_id)
        del self._visits[ticket_id]
        return visit, bucket


def _sort_key(key: Key) -> tuple[str, ...]:
    ids = ("" if part is None else str(part) for part in key[:4])
    return (*ids, key[4].isoformat(), f"{key[5]:02d}")


F = KpiFold
HANDLERS: dict[type, Callable[[KpiFold, Any], None]] = {
    Queue.Opened: F._queue_opened,
    Queue.TimezoneChanged: F._queue_timezone_changed,
    Queue.TicketJoined: F._ticket_joined,
    Ticket.Issued: F._issued,
    Ticket.Transferred: F._transferred,
    Ticket.Called: F._called,
    Ticket.ServiceStarted: F._service_started,
    Ticket.Paused: F._paused,
    Ticket.Resumed: F._resumed,
    Ticket.Completed: F._completed,
    Ticket.MarkedNoShow: F._marked_no_show,
    Ticket.Cancelled: F._cancelled,
}
NEED_A_VISIT = frozenset(HANDLERS) - {
    Queue.Opened,
    Queue.TimezoneChanged,
    Queue.TicketJoined,
    Ticket.Issued,
}
