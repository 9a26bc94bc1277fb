"""Queue statistics: how a queue is doing on one site-local day (a read model written by the
queue statistics projection), with the longest current wait worked out at query time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from application.app import SmartQueue
from domain.errors import QueueNotFound, ResourceNotFound
from domain.queues import Queue
from domain.tenancy import Tenant

QueueDay = tuple[UUID, date]


class QueueDayCounters(msgspec.Struct, kw_only=True):
    """The stored statistics of one queue on one site-local day; a day without activity has
    zeros and nulls. Durations are in seconds; a visit counts on the day it joined the queue."""

    issued: int = 0
    transferred_in: int = 0
    waiting: int = 0
    called: int = 0
    serving: int = 0
    paused: int = 0
    completed: int = 0
    """Served: service completed."""
    no_show: int = 0
    cancelled: int = 0
    abandoned: int = 0
    """Cancelled while still waiting (the customer left)."""
    transferred_out: int = 0
    waits_counted: int = 0
    wait_total_seconds: float = 0.0
    average_wait_seconds: float | None = None
    shortest_wait_seconds: float | None = None
    longest_wait_seconds: float | None = None
    """The longest wait until a first call; see ``current_longest_wait_seconds`` for those
    still waiting."""
    services_counted: int = 0
    service_total_seconds: float = 0.0
    average_service_seconds: float | None = None
    longest_service_seconds: float | None = None
    sla_met: int = 0
    sla_counted: int = 0
    sla_compliance: float | None = None
    """``sla_met / sla_counted``: the share of counted tickets called within their target."""
    oldest_waiting_since: datetime | None = None


class QueueStatsView(QueueDayCounters, kw_only=True):
    """A queue's statistics for one site-local day, as of ``as_of``."""

    queue_id: UUID
    day: date
    timezone: str
    as_of: datetime
    current_longest_wait_seconds: float | None
    """How long the longest-waiting ticket of this day has waited so far (``None`` if none
    waits)."""


class QueueStatsStore(Protocol):
    """The queue statistics read model (PostgreSQL, under the tenant's row-level security)."""

    def counters(
        self, tenant_id: UUID, keys: Sequence[QueueDay]
    ) -> dict[QueueDay, QueueDayCounters]:
        """The stored rows of ``tenant_id`` among ``keys``; days without a row are left out."""


class StatsQueries:
    """Reads the queue statistics of a tenant's queues. A queue of another tenant, or none, is
    :class:`QueueNotFound`; a day without activity is a row of zeros."""

    def __init__(self, store: SmartQueue, read_model: QueueStatsStore) -> None:
        self.store = store
        self.read_model = read_model

    def get_queue_stats(
        self, tenant_id: UUID, queue_id: UUID, day: date | None = None, site_id: UUID | None = None
    ) -> QueueStatsView:
        """One queue on ``day`` (default: today where the queue is). With ``site_id`` (a
        display's site) a queue of another site is not found either."""
        queue = self.store.load(Queue, queue_id, tenant_id, QueueNotFound)
        if site_id is not None and queue.site_id != site_id:
            raise QueueNotFound(f"no queue with id {queue_id}")
        [view] = self._views(tenant_id, [queue], day)
        return view

    def list_queue_stats(
        self, tenant_id: UUID, day: date | None = None, site_id: UUID | None = None
    ) -> list[QueueStatsView]:
        """Every queue of the tenant (of ``site_id`` only, when given) on ``day`` (default:
        today where each queue is), in the order the queues were opened."""
        tenant = self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        queues = [
            self.store.load(Queue, queue_id, tenant_id, QueueNotFound)
            for queue_id in tenant.queue_ids
        ]
        if site_id is not None:
            queues = [queue for queue in queues if queue.site_id == site_id]
        return self._views(tenant_id, queues, day)

    def _views(
        self, tenant_id: UUID, queues: list[Queue], day: date | None
    ) -> list[QueueStatsView]:
        now = self.store.clock()
        keys = [
            (queue.id, day or now.astimezone(ZoneInfo(queue.timezone)).date()) for queue in queues
        ]
        stored = self.read_model.counters(tenant_id, keys)
        views = []
        for queue, key in zip(queues, keys, strict=True):
            counters = stored.get(key) or QueueDayCounters()
            since = counters.oldest_waiting_since
            views.append(
                QueueStatsView(
                    **msgspec.structs.asdict(counters),
                    queue_id=queue.id,
                    day=key[1],
                    timezone=queue.timezone,
                    as_of=now,
                    current_longest_wait_seconds=(
                        None if since is None else max(0.0, (now - since).total_seconds())
                    ),
                )
            )
        return views
