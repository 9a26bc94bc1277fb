"""The feedback read model: one row per feedback (scores, tags, where and by whom the visit was
served; never the comment), for the staff's list and figures."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from domain.feedback import Feedback
from projections.base import Projection


class FeedbackRowsView(Protocol):
    """Where feedback rows go (PostgreSQL in production)."""

    def add(self, row: dict[str, Any]) -> None:
        """Keep one feedback's row (a replayed one is kept once)."""


def _submitted(
    projection: FeedbackProjection, event: Feedback.Submitted, position: int, view: Any
) -> None:
    view.add(
        {
            "feedback_id": event.originator_id,
            "tenant_id": event.tenant_id,
            "ticket_id": event.ticket_id,
            "site_id": event.site_id,
            "service_id": event.service_id,
            "queue_id": event.queue_id,
            "agent_id": event.agent_id,
            "csat": event.csat,
            "nps": event.nps,
            "tags": list(event.tags),
            "has_comment": event.has_comment,
            "submitted_at": event.submitted_at,
            "appointment_id": event.appointment_id,
        }
    )


class FeedbackProjection(Projection[FeedbackRowsView]):
    """Feedback.Submitted becomes a row; every other event is ignored."""

    name: ClassVar[str] = "feedback"
    handlers: ClassVar = {Feedback.Submitted: _submitted}

    def tables(self) -> tuple[str, ...]:
        return ("feedback",)
