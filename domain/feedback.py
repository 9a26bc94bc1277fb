"""The Feedback aggregate: what one customer said about one visit (CSAT 1-5, NPS 0-10, tags).

One per visit by construction: its id is derived from the visit's (``feedback_id``), so a second
submit for the same ticket collides with the first on the event store and is refused as
:class:`FeedbackGiven`. The free-text comment is personal data: it never enters an event (it is
kept in a side table and erased with the customer); the event only says whether there was one.

The figures over many feedbacks are pure functions (:func:`summarise`), tested against
hand-computed values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

FEEDBACK_NAMESPACE = uuid5(NAMESPACE_URL, "https://smartqueue.example/feedback")
CSAT_RANGE = range(1, 6)
NPS_RANGE = range(0, 11)
COMMENT_MAX_CHARS = 1000
TAGS = (
    "waiting_time",
    "staff",
    "information",
    "premises",
    "accessibility",
    "outcome",
)
"""The tags a customer may pick (a small fixed list, so they can be counted and translated)."""
MAX_TAGS = len(TAGS)
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


class FeedbackError(Conflict):
    """Base of the feedback conflicts."""

    code = "feedback_conflict"


class FeedbackGiven(FeedbackError):
    """Raised when feedback is submitted a second time for the same visit."""

    code = "feedback_given"


class VisitNotFinished(FeedbackError):
    """Raised when feedback is submitted for a ticket that was not completed (still waiting,
    being served, cancelled or a no-show)."""

    code = "visit_not_completed"


def feedback_id(visit_id: UUID) -> UUID:
    """The one feedback id a visit (a ticket, later an appointment) can ever have."""
    return uuid5(FEEDBACK_NAMESPACE, str(visit_id))


@dataclass(frozen=True)
class Scores:
    """A customer's validated answers: at least one of CSAT and NPS, tags from :data:`TAGS`."""

    csat: int | None
    nps: int | None
    tags: tuple[str, ...] = ()
    comment: str | None = None


def check_scores(
    csat: int | None, nps: int | None, tags: Iterable[str] = (), comment: str | None = None
) -> Scores:
    """Validate a submission, raising :class:`InvalidInput` that names the problem."""
    if csat is None and nps is None:
        raise InvalidInput("give at least one of csat (1 to 5) and nps (0 to 10)")
    if csat is not None and (isinstance(csat, bool) or csat not in CSAT_RANGE):
        raise InvalidInput("csat must be a whole number from 1 to 5")
    if nps is not None and (isinstance(nps, bool) or nps not in NPS_RANGE):
        raise InvalidInput("nps must be a whole number from 0 to 10")
    chosen: list[str] = []
    for tag in tags:
        if tag not in TAGS:
            raise InvalidInput(f"unknown tag {tag!r}; expected some of {', '.join(TAGS)}")
        if tag not in chosen:
            chosen.append(tag)
    text = comment.strip() if comment is not None else None
    if text is not None and len(text) > COMMENT_MAX_CHARS:
        raise InvalidInput(f"comment must be at most {COMMENT_MAX_CHARS} characters")
    return Scores(csat=csat, nps=nps, tags=tuple(chosen), comment=text or None)


class Feedback(Aggregate):
    """A customer's answer about one completed visit, linked to where and by whom it was
    served. Nothing personal: the comment lives outside the events."""

    class Submitted(Aggregate.Created):
        """Feedback was given for a visit (``has_comment``: a comment was kept aside;
        ``appointment_id``: the appointment whose check-in issued the visit's ticket)."""

        class_version = 2
        tenant_id: UUID
        ticket_id: UUID
        site_id: UUID
        service_id: UUID
        queue_id: UUID
        agent_id: UUID | None
        customer_id: UUID | None
        csat: int | None
        nps: int | None
        tags: list[str]
        has_comment: bool
        submitted_at: datetime
        appointment_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Feedback given before visits recorded their appointment names none."""
            state["appointment_id"] = None

    @classmethod
    def submit(
        cls,
        tenant_id: UUID,
        ticket_id: UUID,
        site_id: UUID,
        service_id: UUID,
        queue_id: UUID,
        agent_id: UUID | None,
        customer_id: UUID | None,
        scores: Scores,
        at: datetime,
        appointment_id: UUID | None = None,
    ) -> Feedback:
        """Record the feedback of the visit ``ticket_id`` under its one possible id."""
        return cls(
            id=feedback_id(ticket_id),
            tenant_id=tenant_id,
            ticket_id=ticket_id,
            site_id=site_id,
            service_id=service_id,
            queue_id=queue_id,
            agent_id=agent_id,
            customer_id=customer_id,
            csat=scores.csat,
            nps=scores.nps,
            tags=list(scores.tags),
            has_comment=scores.comment is not None,
            submitted_at=at,
            appointment_id=appointment_id,
        )

    @event(Submitted)
    def __init__(
        self,
        id: UUID,
        tenant_id: UUID,
        ticket_id: UUID,
        site_id: UUID,
        service_id: UUID,
        queue_id: UUID,
        agent_id: UUID | None,
        customer_id: UUID | None,
        csat: int | None,
        nps: int | None,
        tags: list[str],
        has_comment: bool,
        submitted_at: datetime,
        appointment_id: UUID | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.ticket_id = ticket_id
        self.site_id = site_id
        self.service_id = service_id
        self.queue_id = queue_id
        self.agent_id = agent_id
        self.customer_id = customer_id
        self.csat = csat
        self.nps = nps
        self.tags = list(tags)
        self.has_comment = has_comment
        self.submitted_at = submitted_at
        self.appointment_id = appointment_id


@dataclass(frozen=True)
class FeedbackFigures:
    """The figures of a set of feedbacks (``None`` where nothing was answered)."""

    responses: int
    completed: int
    response_rate: float | None
    """Feedbacks ÷ completed visits."""
    csat_average: float | None
    csat_distribution: dict[int, int] = field(default_factory=dict)
    """How many answered each of 1 to 5."""
    nps: float | None = None
    """% promoters (9 to 10) - % detractors (0 to 6) among NPS answers, from -100 to 100."""
    nps_answers: int = 0


def summarise(answers: Iterable[tuple[int | None, int | None]], completed: int) -> FeedbackFigures:
    """CSAT average and distribution, NPS and response rate of ``(csat, nps)`` answers given
    for ``completed`` visits."""
    responses = 0
    distribution = dict.fromkeys(CSAT_RANGE, 0)
    promoters = detractors = nps_answers = 0
    for csat, nps in answers:
        responses += 1
        if csat is not None:
            distribution[csat] += 1
        if nps is not None:
            nps_answers += 1
            promoters += nps >= PROMOTER_MIN
            detractors += nps <= DETRACTOR_MAX
    csat_answers = sum(distribution.values())
    csat_total = sum(score * count for score, count in distribution.items())
    return FeedbackFigures(
        responses=responses,
        completed=completed,
        response_rate=responses / completed if completed else None,
        csat_average=csat_total / csat_answers if csat_answers else None,
        csat_distribution=distribution,
        nps=100 * (promoters - detractors) / nps_answers if nps_answers else None,
        nps_answers=nps_answers,
    )
