"""The feedback read model: its PostgreSQL writer and its queries, side by side."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Date, Engine, Table, and_, cast, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from application.feedback_reports import FeedbackFilter, FeedbackListItem, GroupBy
from infrastructure.postgres.tables import directory_queues, feedback, queue_eta, tickets
from infrastructure.postgres.tenancy import tenant_transaction

# -- the writer ----------------------------------------------------------------------------------


class PostgresFeedbackView:
    """Collects a batch's rows and inserts them at ``flush`` (a replayed row is kept once)."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.table = tables["feedback"]
        self.pending: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        if self.pending:
            statement = insert(self.table).on_conflict_do_nothing(index_elements=["feedback_id"])
            connection.execute(statement, self.pending)
            self.pending = []


# -- the queries ---------------------------------------------------------------------------------


def _feedback_conditions(tenant_id: UUID, where: FeedbackFilter) -> list[Any]:
    conditions = [feedback.c.tenant_id == tenant_id]
    for column, value in (
        (feedback.c.site_id, where.site_id),
        (feedback.c.service_id, where.service_id),
        (feedback.c.agent_id, where.agent_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if where.since is not None:
        conditions.append(feedback.c.submitted_at >= where.since)
    if where.until is not None:
        conditions.append(feedback.c.submitted_at < where.until)
    if where.appointment_id is not None:
        conditions.append(feedback.c.appointment_id == where.appointment_id)
    if where.origin == "appointment":
        conditions.append(feedback.c.appointment_id.is_not(None))
    elif where.origin == "walk_in":
        conditions.append(feedback.c.appointment_id.is_(None))
    return conditions


def _local_day(moment: Any) -> Any:
    """The day of ``moment`` in the time zone of its queue's site (``queue_eta``, joined by the
    caller; UTC for a queue it does not know yet)."""
    return cast(func.timezone(func.coalesce(queue_eta.c.timezone, "UTC"), moment), Date)


def _with_zone(table: Table, queue_id: Any, tenant_id: UUID) -> Any:
    """``table`` joined to its queue's time zone."""
    return table.outerjoin(
        queue_eta, and_(queue_eta.c.queue_id == queue_id, queue_eta.c.tenant_id == tenant_id)
    )


def _feedback_key(group_by: GroupBy | None) -> Any:
    if group_by is None:
        return None
    if group_by == "day":
        return _local_day(feedback.c.submitted_at)
    return {"site": feedback.c.site_id, "service": feedback.c.service_id}.get(
        group_by, feedback.c.agent_id
    )


def _key(value: Any) -> str | None:
    return None if value is None else str(value)


class PostgresFeedbackRecords:
    """The ``FeedbackRecords`` port over the read models."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(
        self,
        tenant_id: UUID,
        where: FeedbackFilter,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[FeedbackListItem]:
        conditions = _feedback_conditions(tenant_id, where)
        if after is not None:
            conditions.append(
                tuple_(feedback.c.submitted_at, feedback.c.feedback_id) < tuple_(*after)
            )
        query = (
            select(feedback)
            .where(*conditions)
            .order_by(feedback.c.submitted_at.desc(), feedback.c.feedback_id.desc())
            .limit(limit)
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query).mappings().all()
        return [
            FeedbackListItem(
                id=row["feedback_id"],
                ticket_id=row["ticket_id"],
                site_id=row["site_id"],
                service_id=row["service_id"],
                queue_id=row["queue_id"],
                agent_id=row["agent_id"],
                csat=row["csat"],
                nps=row["nps"],
                tags=list(row["tags"]),
                has_comment=row["has_comment"],
                submitted_at=row["submitted_at"],
                appointment_id=row["appointment_id"],
            )
            for row in rows
        ]

    def answers(
        self, tenant_id: UUID, where: FeedbackFilter, group_by: GroupBy | None
    ) -> list[tuple[str | None, int | None, int | None]]:
        key = _feedback_key(group_by)
        columns = [feedback.c.csat, feedback.c.nps]
        query = (
            select(*([key] if key is not None else []), *columns)
            .select_from(_with_zone(feedback, feedback.c.queue_id, tenant_id))
            .where(*_feedback_conditions(tenant_id, where))
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query).all()
        if key is None:
            return [(None, csat, nps) for csat, nps in rows]
        return [(_key(group), csat, nps) for group, csat, nps in rows]

    def completed(
        self, tenant_id: UUID, where: FeedbackFilter, group_by: GroupBy | None
    ) -> dict[str | None, int]:
        site = directory_queues.c.site_id
        conditions = [tickets.c.tenant_id == tenant_id, tickets.c.status == "completed"]
        if where.site_id is not None:
            conditions.append(site == where.site_id)
        if where.service_id is not None:
            conditions.append(tickets.c.service_id == where.service_id)
        if where.agent_id is not None:
            conditions.append(tickets.c.agent_id == where.agent_id)
        if where.since is not None:
            conditions.append(tickets.c.finished_at >= where.since)
        if where.until is not None:
            conditions.append(tickets.c.finished_at < where.until)
        keys = {
            "site": site,
            "service": tickets.c.service_id,
            "agent": tickets.c.agent_id,
            "day": _local_day(tickets.c.finished_at),
        }
        key = keys[group_by] if group_by is not None else None
        joined = _with_zone(tickets, tickets.c.queue_id, tenant_id).outerjoin(
            directory_queues,
            and_(
                directory_queues.c.queue_id == tickets.c.queue_id,
                directory_queues.c.tenant_id == tenant_id,
            ),
        )
        count = func.count()
        query = select(*([key] if key is not None else []), count).select_from(joined)
        query = query.where(*conditions)
        if key is not None:
            query = query.group_by(key)
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query).all()
        if key is None:
            return {None: rows[0][0] if rows else 0}
        return {_key(group): total for group, total in rows}
