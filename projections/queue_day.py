"""One queue's statistics for one site-local day: the counters a fold keeps and the row it emits.

A ticket's *visit* to a queue starts when it is issued into the queue or transferred into it, and
every later fact about that visit (call, service, outcome) counts in the bucket of the day the
visit started, in the queue's time zone. A day's numbers therefore always reconcile::

    issued + transferred_in
        == waiting + called + serving + paused + completed + no_show + cancelled + transferred_out
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

import msgspec

from domain.tickets import TicketStatus

# A visit stands where its ticket stands (``TicketStatus``), until a transfer ends it with the
# ticket elsewhere: that last status is a visit's only, and is counted under this name.
TRANSFERRED_OUT = "transferred_out"

# The statuses a day counts: the ticket's, and ``TRANSFERRED_OUT``.
VisitStatus = TicketStatus | Literal["transferred_out"]

FINISHED: frozenset[VisitStatus] = frozenset(
    {TicketStatus.COMPLETED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED, TRANSFERRED_OUT}
)


class SlaRule(msgspec.Struct, frozen=True):
    """How tickets without a plain "called in time or not" outcome count towards SLA compliance.

    SLA compliance is the share of counted tickets called within their service's target wait
    (``wait <= target``). A ticket called within its visit always counts, met or missed.

    - ``count_abandoned``: a ticket cancelled while still waiting, after waiting *longer* than its
      target, counts as a miss (the branch had already failed it). One cancelled within its
      target is never counted: nobody knows whether it would have been called in time.
    - ``count_no_show``: a no-show was called, so by default it counts by its call time like any
      other; set ``False`` to leave no-shows out of both the numerator and the denominator.
    """

    count_abandoned: bool = True
    count_no_show: bool = True


class QueueStatsRow(msgspec.Struct, frozen=True, kw_only=True):
    """The stored statistics of one queue on one site-local day (durations in seconds).

    Sums and counts are kept beside the averages so rows of several days or queues can be merged.
    ``oldest_waiting_since`` lets a query show the longest *current* wait as ``now - it``.
    """

    tenant_id: UUID
    queue_id: UUID
    day: date
    issued: int
    transferred_in: int
    waiting: int
    called: int
    serving: int
    paused: int
    completed: int
    no_show: int
    cancelled: int
    abandoned: int
    transferred_out: int
    waits_counted: int
    wait_total_seconds: float
    average_wait_seconds: float | None
    shortest_wait_seconds: float | None
    longest_wait_seconds: float | None
    services_counted: int
    service_total_seconds: float
    average_service_seconds: float | None
    longest_service_seconds: float | None
    sla_met: int
    sla_counted: int
    sla_compliance: float | None
    oldest_waiting_since: datetime | None


class Sample(msgspec.Struct):
    """A running count, sum, minimum and maximum of durations."""

    count: int = 0
    total: float = 0.0
    low: float | None = None
    high: float | None = None

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.low = seconds if self.low is None else min(self.low, seconds)
        self.high = seconds if self.high is None else max(self.high, seconds)

    @property
    def mean(self) -> float | None:
        return None if self.count == 0 else self.total / self.count


class QueueDay(msgspec.Struct):
    """The mutable counters behind one :class:`QueueStatsRow`."""

    tenant_id: UUID
    queue_id: UUID
    day: date
    issued: int = 0
    transferred_in: int = 0
    abandoned: int = 0
    statuses: dict[str, int] = msgspec.field(default_factory=dict)
    waits: Sample = msgspec.field(default_factory=Sample)
    services: Sample = msgspec.field(default_factory=Sample)
    sla_met: int = 0
    sla_counted: int = 0
    # Join time of each visit of this bucket still waiting, for the longest current wait.
    waiting_since: dict[UUID, datetime] = msgspec.field(default_factory=dict)

    def move(self, old: VisitStatus | None, new: VisitStatus) -> None:
        """Count a visit under ``new`` instead of ``old`` (``None`` for a new visit)."""
        if old is not None:
            self.statuses[old] -= 1
        self.statuses[new] = self.statuses.get(new, 0) + 1

    def count_sla(self, met: bool, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` withdraw) one ticket's SLA outcome."""
        self.sla_counted += sign
        self.sla_met += sign if met else 0

    def snapshot(self) -> QueueStatsRow:
        """The row as it stands now."""
        status = self.statuses.get
        return QueueStatsRow(
            tenant_id=self.tenant_id,
            queue_id=self.queue_id,
            day=self.day,
            issued=self.issued,
            transferred_in=self.transferred_in,
            waiting=status(TicketStatus.WAITING, 0),
            called=status(TicketStatus.CALLED, 0),
            serving=status(TicketStatus.SERVING, 0),
            paused=status(TicketStatus.PAUSED, 0),
            completed=status(TicketStatus.COMPLETED, 0),
            no_show=status(TicketStatus.NO_SHOW, 0),
            cancelled=status(TicketStatus.CANCELLED, 0),
            abandoned=self.abandoned,
            transferred_out=status(TRANSFERRED_OUT, 0),
            waits_counted=self.waits.count,
            wait_total_seconds=self.waits.total,
            average_wait_seconds=self.waits.mean,
            shortest_wait_seconds=self.waits.low,
            longest_wait_seconds=self.waits.high,
            services_counted=self.services.count,
            service_total_seconds=self.services.total,
            average_service_seconds=self.services.mean,
            longest_service_seconds=self.services.high,
            sla_met=self.sla_met,
            sla_counted=self.sla_counted,
            sla_compliance=self.sla_met / self.sla_counted if self.sla_counted else None,
            oldest_waiting_since=min(self.waiting_since.values(), default=None),
        )


class Visit(msgspec.Struct):
    """What the fold must remember about a ticket while its visit to a queue is open."""

    queue_id: UUID
    day: date
    joined_at: datetime
    status: TicketStatus = TicketStatus.WAITING  # an open visit's: never ``TRANSFERRED_OUT``
    target_wait_seconds: int | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None
    sla_met: bool | None = None  # decided at the first call of the visit


class FoldState(msgspec.Struct):
    """Everything a ``QueueStatistics`` fold knows, in a form msgspec can encode."""

    timezones: dict[UUID, str] = msgspec.field(default_factory=dict)
    days: list[QueueDay] = msgspec.field(default_factory=list)
    visits: dict[UUID, Visit] = msgspec.field(default_factory=dict)  # open visits only
    targets: list[tuple[UUID, UUID, int]] = msgspec.field(default_factory=list)
    newest: datetime | None = None  # the latest ticket moment folded in (what pruning goes by)
