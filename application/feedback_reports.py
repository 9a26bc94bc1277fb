"""The staff's side of feedback: the list with filters, and the figures per site, service,
agent or day (CSAT average and distribution, NPS, response rate), from the feedback read model
and the tickets read model (completed visits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

import msgspec

from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from domain.errors import InvalidInput
from domain.feedback import summarise

GroupBy = Literal["site", "service", "agent", "day"]
GROUPS = ("site", "service", "agent", "day")
ORIGINS = ("appointment", "walk_in")


@dataclass(frozen=True)
class FeedbackFilter:
    """Which feedback (and which completed visits, for the response rate): all given ones
    match; ``since`` inclusive, ``until`` exclusive."""

    site_id: UUID | None = None
    service_id: UUID | None = None
    agent_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    appointment_id: UUID | None = None
    """The list only: the feedback of this appointment's visit."""
    origin: str | None = None
    """The list only: ``appointment`` (visits an appointment's check-in began) or ``walk_in``
    (every other visit)."""

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("from must be before to")
        if self.origin is not None and self.origin not in ORIGINS:
            raise InvalidInput(f"origin must be one of {', '.join(ORIGINS)}")


class FeedbackListItem(msgspec.Struct, kw_only=True):
    """A feedback in the staff's list (no comment here: it is read one feedback at a time)."""

    id: UUID
    ticket_id: UUID
    site_id: UUID
    service_id: UUID
    queue_id: UUID
    agent_id: UUID | None
    csat: int | None
    nps: int | None
    tags: list[str]
    has_comment: bool
    submitted_at: datetime
    appointment_id: UUID | None = None
    """The appointment whose check-in issued the visit's ticket, if it came from one."""


class FeedbackStatsRow(msgspec.Struct, kw_only=True):
    """The figures of one group (``key``: a site, service or agent id, or a day, local to the
    site of the visit's queue)."""

    key: str | None
    responses: int
    completed: int
    response_rate: float | None
    csat_average: float | None
    csat_distribution: dict[str, int]
    nps: float | None
    nps_answers: int


class FeedbackRecords(Protocol):
    """The feedback read model's queries."""

    def page(
        self,
        tenant_id: UUID,
        where: FeedbackFilter,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[FeedbackListItem]:
        """Up to ``limit`` feedbacks newest first, strictly after ``after`` in that order."""

    def answers(
        self, tenant_id: UUID, where: FeedbackFilter, group_by: GroupBy | None
    ) -> list[tuple[str | None, int | None, int | None]]:
        """``(group key, csat, nps)`` of every matching feedback."""

    def completed(
        self, tenant_id: UUID, where: FeedbackFilter, group_by: GroupBy | None
    ) -> dict[str | None, int]:
        """How many matching visits were completed, per group key."""


class FeedbackReports:
    """The staff's reads of feedback."""

    def __init__(self, records: FeedbackRecords) -> None:
        self.records = records

    def list_feedback(
        self, tenant_id: UUID, where: FeedbackFilter, request: PageRequest
    ) -> Page[FeedbackListItem]:
        """The tenant's feedback, newest first, filtered."""
        after = _decode(request.cursor) if request.cursor else None
        rows = self.records.page(tenant_id, where, after, request.limit + 1)
        items = rows[: request.limit]
        if len(rows) <= request.limit:
            return Page(items, None)
        last = items[-1]
        return Page(items, encode_cursor(f"{last.submitted_at.isoformat()}|{last.id}"))

    def feedback_stats(
        self, tenant_id: UUID, where: FeedbackFilter, group_by: str | None = None
    ) -> list[FeedbackStatsRow]:
        """The figures of the matching feedback, overall or per group (sorted by key)."""
        if group_by is not None and group_by not in GROUPS:
            raise InvalidInput(f"group_by must be one of {', '.join(GROUPS)}")
        grouping: GroupBy | None = group_by  # type: ignore[assignment]
        answers: dict[str | None, list[tuple[int | None, int | None]]] = {}
        for key, csat, nps in self.records.answers(tenant_id, where, grouping):
            answers.setdefault(key, []).append((csat, nps))
        completed = self.records.completed(tenant_id, where, grouping)
        if grouping is None:
            keys: list[str | None] = [None]
        else:
            keys = sorted({*answers, *completed} - {None}) + (
                [None] if None in answers or None in completed else []
            )
        rows = []
        for key in keys:
            figures = summarise(answers.get(key, []), completed.get(key, 0))
            rows.append(
                FeedbackStatsRow(
                    key=key,
                    responses=figures.responses,
                    completed=figures.completed,
                    response_rate=figures.response_rate,
                    csat_average=figures.csat_average,
                    csat_distribution={
                        str(score): count for score, count in figures.csat_distribution.items()
                    },
                    nps=figures.nps,
                    nps_answers=figures.nps_answers,
                )
            )
        return rows


def _decode(cursor: str) -> tuple[datetime, UUID]:
    submitted_at, _, feedback_id = decode_cursor(cursor).partition("|")
    try:
        return datetime.fromisoformat(submitted_at), UUID(feedback_id)
    except ValueError:
        raise InvalidInput("cursor is not valid; pass the cursor of the previous page") from None
