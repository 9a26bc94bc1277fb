"""The KPI projection: the :class:`~projections.kpis.KpiFold`, run by the projection runner
against a view that keeps the fold's state beside the rows (as the queue statistics do)."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from projections.base import Handler, Projection
from projections.kpis import HANDLERS, KpiFold


class KpiView(Protocol):
    """Holds the fold for the batch being applied."""

    kpis: KpiFold

    def fold(self, event: Any) -> None:
        """Fold ``event`` into ``kpis`` and remember that the state changed."""


def _fold(projection: Any, event: Any, position: int, view: KpiView) -> None:
    view.fold(event)


class KpisProjection(Projection[KpiView]):
    """Arrivals, outcomes, waits, service and handle times (with sketches), SLA and feedback
    per hourly bucket, and agents' time on duty per hour."""

    name: ClassVar[str] = "kpis"
    handlers: ClassVar[dict[type, Handler]] = dict.fromkeys(HANDLERS, _fold)

    def tables(self) -> tuple[str, ...]:
        return ("kpis", "kpi_agent_duty")
