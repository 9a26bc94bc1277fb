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
:class:`~projections.kpis_sketch.Sketch` of each, so any set of buckets merges exactly. It also
keeps the visits' *handle time* (the calling agent's time on the visit: its first call in this
queue to its end by completion, no-show, transfer on or cancellation) and the feedback given
(:class:`domain.feedback.Feedback`): feedback counts in the bucket of the site-local hour it was
*given*, under the visit's site, service, queue and agent.

Beside the visit buckets the fold keeps each agent's *time on duty* (any status but offline; the
paused part also on its own) in :class:`DutyBucket` rows per agent, site and site-local hour. An
agent's site and time zone are those of the first queue assigned to them, else of the queue of
their latest call (none and UTC before either). A period on duty runs from one
``Agent.StatusChanged`` to the next and is counted up to the agent's latest status change or
call, so today's figure grows as the agent works. Duty rows are *increments*: each drain hands
over the time counted since the last one and forgets it (the store adds it to the row), so a
period that runs past midnight never needs an earlier hour's total in memory.

State is kept small as the queue statistics do it (see that module's docstring): a (queue, day)'s
buckets are forgotten once no open visit belongs to that queue and day and the newest event is
:data:`PRUNE_GRACE` past the day's end. The agent move only touches buckets of the visit's own
(queue, day, hour), which an open visit keeps in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import msgspec

from domain.agents import Agent, AgentStatus
from domain.feedback import DETRACTOR_MAX, PROMOTER_MIN, Feedback
from domain.queues import Queue
from domain.tickets import Ticket
from projections.kpis_sketch import Sketch
from projections.queue_day import SlaRule
from projections.queue_stats import PRUNE_GRACE

TRANSFER = "transfer"
"""The arrival channel of a visit that began with a transfer in."""

BUCKETS = uuid5(UUID(int=0), "smartqueue.kpis")
DUTY_BUCKETS = uuid5(UUID(int=0), "smartqueue.kpis.duty")
HOUR = timedelta(hours=1)

# (site, service, queue, agent, day, hour)
Key = tuple[UUID, UUID, UUID, UUID | None, date, int]
# (agent, site, day, hour)
DutyKey = tuple[UUID, UUID | None, date, int]


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
    handles_counted: int = 0
    handle_total_seconds: float = 0.0
    csat_responses: int = 0
    csat_total: int = 0
    csat_satisfied: int = 0
    """CSAT answers of 4 or 5."""
    nps_responses: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0

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

    @property
    def is_empty(self) -> bool:
        """Nothing to store: no visit (an agent move may empty a bucket) and no feedback."""
        return not (self.arrival_count or self.csat_responses or self.nps_responses)

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


class DutyBucket(msgspec.Struct):
    """An agent's time on duty in one site-local hour; a row of table ``kpi_agent_duty``."""

    tenant_id: UUID
    agent_id: UUID
    site_id: UUID | None
    day: date
    hour: int
    on_duty_seconds: float = 0.0
    paused_seconds: float = 0.0

    @property
    def key(self) -> DutyKey:
        return (self.agent_id, self.site_id, self.day, self.hour)

    @property
    def bucket_id(self) -> UUID:
        return uuid5(DUTY_BUCKETS, "|".join(str(part) for part in self.key))


class AgentPlace(msgspec.Struct):
    """What the fold knows of an agent: its queues and, while on duty, since when and how."""

    tenant_id: UUID
    queue_ids: list[UUID] = msgspec.field(default_factory=list)
    status: str = AgentStatus.OFFLINE.value
    since: datetime | None = None
    last_queue_id: UUID | None = None
    """The queue of the agent's latest call (their place when no queue is assigned)."""


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
    called_at: datetime | None = None


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
    agents: dict[UUID, AgentPlace] = msgspec.field(default_factory=dict)
    duty: list[DutyBucket] = msgspec.field(default_factory=list)


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
        self._agents = state.agents
        self._duty = {bucket.key: bucket for bucket in state.duty}
        self._site_zones = {place.site_id: place.timezone for place in self._queues.values()}

    def dump(self) -> bytes:
        """The whole state as JSON (stored beside the rows and the position)."""
        targets = [(t, q, seconds) for (t, q), seconds in self._targets.items()]
        state = KpiState(
            self._queues,
            list(self._buckets.values()),
            self._visits,
            targets,
            self._newest,
            self._agents,
            list(self._duty.values()),
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
        moment = _moment(event)
        if isinstance(moment, datetime) and (self._newest is None or moment > self._newest):
            self._newest = moment

    def apply_all(self, events: Iterable[Any]) -> None:
        for event in events:
            self.apply(event)

    def buckets(self) -> list[KpiBucket]:
        """Every bucket held with a visit or feedback in it, in key order (the table's rows)."""
        keys = sorted(self._buckets, key=_sort_key)
        return [self._buckets[key] for key in keys if not self._buckets[key].is_empty]

    def duty(self) -> list[DutyBucket]:
        """The time on duty counted since the last drain, per agent-hour, in key order."""
        return [self._duty[key] for key in sorted(self._duty, key=_duty_sort_key)]

    def drain_changed(self) -> list[KpiBucket]:
        """The buckets changed since the last drain (possibly emptied by an agent move)."""
        keys, self._changed = sorted(self._changed, key=_sort_key), set()
        return [self._buckets[key] for key in keys]

    def drain_duty(self) -> list[DutyBucket]:
        """The time on duty counted since the last drain (to be *added* to the stored rows),
        forgotten here."""
        drained, self._duty = self.duty(), {}
        return drained

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
        self._site_zones[event.site_id] = event.timezone

    def _queue_timezone_changed(self, event: Queue.TimezoneChanged) -> None:
        place = self._queues.get(event.originator_id)
        if place is not None:
            place.timezone = event.timezone
            self._site_zones[place.site_id] = event.timezone

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
        visit, bucket = self._finish(event.originator_id, event.at)
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
        visit.status, visit.called_at = "called", event.at
        agent = self._agents.get(event.agent_id)
        if agent is not None:
            agent.last_queue_id = queue
            self._accrue(event.agent_id, event.at)
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
        visit, bucket = self._finish(event.originator_id, event.at)
        bucket.served += 1
        if visit.started_at is not None:
            bucket.add_service((event.at - visit.started_at).total_seconds())

    def _marked_no_show(self, event: Ticket.MarkedNoShow) -> None:
        visit, bucket = self._finish(event.originator_id, event.at)
        bucket.no_shows += 1
        if not self.sla.count_no_show and visit.sla_met is not None:
            bucket.count_sla(visit.sla_met, sign=-1)

    def _cancelled(self, event: Ticket.Cancelled) -> None:
        visit, bucket = self._finish(event.originator_id, event.at)
        bucket.cancellations += 1
        if visit.status != "waiting":
            return  # cancelled after the call: its SLA outcome was decided then
        bucket.abandonments += 1
        waited = (event.at - visit.joined_at).total_seconds()
        target = visit.target_wait_seconds
        if self.sla.count_abandoned and target is not None and waited > target:
            bucket.count_sla(False)

    # -- feedback ---------------------------------------------------------------------------------

    def _feedback_submitted(self, event: Feedback.Submitted) -> None:
        local = event.submitted_at.astimezone(ZoneInfo(self._timezone(event.queue_id)))
        key: Key = (
            event.site_id,
            event.service_id,
            event.queue_id,
            event.agent_id,
            local.date(),
            local.hour,
        )
        bucket = self._bucket(event.tenant_id, key)
        if event.csat is not None:
            bucket.csat_responses += 1
            bucket.csat_total += event.csat
            bucket.csat_satisfied += event.csat >= 4
        if event.nps is not None:
            bucket.nps_responses += 1
            bucket.nps_promoters += event.nps >= PROMOTER_MIN
            bucket.nps_detractors += event.nps <= DETRACTOR_MAX

    # -- agents -----------------------------------------------------------------------------------

    def _agent_registered(self, event: Agent.Registered) -> None:
        self._agents.setdefault(event.originator_id, AgentPlace(event.tenant_id))

    def _agent_queues_assigned(self, event: Agent.QueuesAssigned) -> None:
        agent = self._agents.get(event.originator_id)
        if agent is not None:
            agent.queue_ids = list(event.queue_ids)

    def _agent_status_changed(self, event: Agent.StatusChanged) -> None:
        agent = self._agents.get(event.originator_id)
        if agent is None:
            return
        self._accrue(event.originator_id, event.timestamp)
        agent.status = event.status
        agent.since = None if event.status == AgentStatus.OFFLINE else event.timestamp

    def _accrue(self, agent_id: UUID | None, until: datetime) -> None:
        """Count the agent's time on duty from its last count to ``until``, hour by hour."""
        agent = None if agent_id is None else self._agents.get(agent_id)
        if agent is None or agent_id is None or agent.since is None or until <= agent.since:
            return
        queues = [*agent.queue_ids, agent.last_queue_id]
        site_id = next((self._queues[q].site_id for q in queues if q in self._queues), None)
        zone = ZoneInfo(self._site_timezone(site_id))
        paused = agent.status == AgentStatus.PAUSED
        moment = agent.since
        while moment < until:
            local = moment.astimezone(zone)
            hour_start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
            end = min(until, hour_start + HOUR)
            key: DutyKey = (agent_id, site_id, local.date(), local.hour)
            bucket = self._duty.get(key)
            if bucket is None:
                bucket = self._duty[key] = DutyBucket(agent.tenant_id, *key)
            seconds = (end - moment).total_seconds()
            bucket.on_duty_seconds += seconds
            bucket.paused_seconds += seconds if paused else 0.0
            moment = end
        agent.since = until

    # -- bookkeeping ------------------------------------------------------------------------------

    def _timezone(self, queue_id: UUID) -> str:
        place = self._queues.get(queue_id)
        return "UTC" if place is None else place.timezone

    def _site_timezone(self, site_id: UUID | None) -> str:
        return "UTC" if site_id is None else self._site_zones.get(site_id, "UTC")

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

    def _finish(self, ticket_id: UUID, at: datetime) -> tuple[KpiVisit, KpiBucket]:
        visit, bucket = self._touch(ticket_id)
        del self._visits[ticket_id]
        if visit.called_at is not None:
            bucket.handles_counted += 1
            bucket.handle_total_seconds += (at - visit.called_at).total_seconds()
        return visit, bucket


def _sort_key(key: Key) -> tuple[str, ...]:
    ids = ("" if part is None else str(part) for part in key[:4])
    return (*ids, key[4].isoformat(), f"{key[5]:02d}")


def _duty_sort_key(key: DutyKey) -> tuple[str, ...]:
    return (str(key[0]), "" if key[1] is None else str(key[1]), key[2].isoformat(), f"{key[3]:02d}")


def _moment(event: Any) -> datetime | None:
    """When ``event`` happened on the application's clock (an agent's registration and queue
    assignment carry only the wall clock's timestamp, so they never move :meth:`KpiFold.prune`'s
    idea of now)."""
    if isinstance(event, Agent.StatusChanged):
        return event.timestamp
    for name in ("at", "issued_at", "submitted_at"):
        moment = getattr(event, name, None)
        if isinstance(moment, datetime):
            return moment
    return None


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
    Feedback.Submitted: F._feedback_submitted,
    Agent.Registered: F._agent_registered,
    Agent.QueuesAssigned: F._agent_queues_assigned,
    Agent.StatusChanged: F._agent_status_changed,
}
NEED_A_VISIT = frozenset(
    {
        Ticket.Transferred,
        Ticket.Called,
        Ticket.ServiceStarted,
        Ticket.Paused,
        Ticket.Resumed,
        Ticket.Completed,
        Ticket.MarkedNoShow,
        Ticket.Cancelled,
    }
)
