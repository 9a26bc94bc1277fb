"""The tickets read model in PostgreSQL: the projection's view, and the queries behind
``GET tickets/`` and ``GET tickets/{id}/``.

A waiting ticket's position is counted at query time: 1 + the entries of its queue's line whose
sort key, under the queue's current policy, is smaller than its own. Each policy's key is a row
comparison over one ``waiting_line`` index, so the count is an index range scan.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    case,
    func,
    literal,
    select,
    tuple_,
)

from application.live import QueueLine
from application.paging import Page, PageRequest
from application.ticket_queries import ListKey, TicketFilter
from application.views import TicketView
from infrastructure.postgres.row_buffer import RowBuffer
from infrastructure.postgres.tables import queue_eta, ticket_queues, tickets, waiting_line
from infrastructure.postgres.tenancy import tenant_transaction
from projections.tickets import LineEntry, QueueRow, TicketChange, TicketRow


class PostgresTicketsView:
    """Buffers a batch's ticket, line and queue changes; writes them at ``flush``."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.tickets = RowBuffer(tables["tickets"], TicketRow)
        self.line = RowBuffer(tables["waiting_line"], LineEntry)
        self.queues = RowBuffer(tables["ticket_queues"], QueueRow)

    def add_queue(self, queue: QueueRow) -> None:
        self.queues.put(queue)

    def set_policy(self, queue_id: UUID, policy: str) -> None:
        self.queues.change((queue_id,), lambda row: replace(row, policy=policy))

    def add_ticket(self, ticket: TicketRow) -> None:
        self.tickets.put(ticket)

    def change_ticket(self, ticket_id: UUID, change: TicketChange) -> None:
        self.tickets.change((ticket_id,), change)

    def join_line(self, entry: LineEntry) -> None:
        self.line.put(entry)

    def leave_line(self, queue_id: UUID, ticket_id: UUID) -> None:
        self.line.delete((queue_id, ticket_id))

    def rerank(self, queue_id: UUID, ticket_id: UUID, rank: float) -> None:
        self.line.change((queue_id, ticket_id), lambda entry: replace(entry, rank=rank))

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        for buffer in (self.queues, self.tickets, self.line):
            buffer.flush(connection)


VIEW_COLUMNS = (
    "number",
    "status",
    "queue_id",
    "service_id",
    "priority",
    "channel",
    "customer_id",
    "agent_id",
    "counter",
    "issued_at",
    "called_at",
    "service_started_at",
    "finished_at",
    "recalls",
    "transfers",
)


def _position(ticket: Any) -> ColumnElement[Any]:
    """The position of ``ticket`` (a ``tickets``-shaped selectable) in its queue's line, or
    NULL unless it waits there."""
    own = waiting_line.alias("own")
    ahead = waiting_line.alias("ahead")

    def count_ahead(before: ColumnElement[bool]) -> Any:
        return (
            select(func.count())
            .select_from(ahead)
            .where(ahead.c.queue_id == own.c.queue_id, before)
            .scalar_subquery()
        )

    # domain/policies.py: fifo (rank), priority (-priority, rank), sla (deadline, -priority, rank).
    fifo = ahead.c.rank < own.c.rank
    priority = tuple_(ahead.c.priority_order, ahead.c.rank) < tuple_(
        own.c.priority_order, own.c.rank
    )
    sla = tuple_(ahead.c.deadline, ahead.c.priority_order, ahead.c.rank) < tuple_(
        own.c.deadline, own.c.priority_order, own.c.rank
    )
    ranked = case(
        (ticket_queues.c.policy == "priority", count_ahead(priority)),
        (ticket_queues.c.policy == "sla", count_ahead(sla)),
        else_=count_ahead(fifo),
    )
    return (
        select(literal(1) + ranked)
        .select_from(own.join(ticket_queues, ticket_queues.c.queue_id == own.c.queue_id))
        .where(
            own.c.queue_id == ticket.c.queue_id,
            own.c.ticket_id == ticket.c.ticket_id,
            ticket.c.status == "waiting",
        )
        .scalar_subquery()
    )


def _with_positions(selected: Any) -> Select[Any]:
    """``selected`` rows (already filtered and limited) with their positions, newest first."""
    return select(
        selected.c.ticket_id, *(selected.c[name] for name in VIEW_COLUMNS), _position(selected)
    ).order_by(selected.c.issued_at.desc(), selected.c.ticket_id.desc())


def _view(row: Any) -> TicketView:
    values = dict(zip(("id", *VIEW_COLUMNS, "position"), row, strict=True))
    return TicketView(eta_seconds=None, **values)


class PostgresTicketRecords:
    """Tickets from the read model, as the tenant's reader (row-level security applies)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, tenant_id: UUID, ticket_id: UUID) -> TicketView | None:
        one = (
            select(tickets)
            .where(tickets.c.tenant_id == tenant_id, tickets.c.ticket_id == ticket_id)
            .subquery()
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            row = connection.execute(_with_positions(one)).first()
        return None if row is None else _view(row)

    def search(self, tenant_id: UUID, where: TicketFilter, page: PageRequest) -> Page[TicketView]:
        # tenant_id is in the query too, although RLS alone enforces it: it lets the planner use
        # the (tenant_id, ...) indexes.
        conditions = [tickets.c.tenant_id == tenant_id, *_conditions(where)]
        after = ListKey.after(page)
        if after is not None:
            conditions.append(
                tuple_(tickets.c.issued_at, tickets.c.ticket_id)
                < tuple_(
                    literal(after.issued_at, tickets.c.issued_at.type),
                    literal(after.ticket_id, tickets.c.ticket_id.type),
                )
            )
        matching = (
            select(tickets)
            .where(and_(*conditions))
            .order_by(tickets.c.issued_at.desc(), tickets.c.ticket_id.desc())
            .limit(page.limit + 1)
            .subquery()
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(_with_positions(matching)).all()
        items = [_view(row) for row in rows[: page.limit]]
        more = len(rows) > page.limit
        cursor = ListKey(items[-1].issued_at, items[-1].id).cursor() if more else None
        return Page(items, cursor)


# Each policy's call order over ``waiting_line`` (domain/policies.py), as in ``_position``.
CALL_ORDER = {
    "fifo": (waiting_line.c.rank,),
    "priority": (waiting_line.c.priority_order, waiting_line.c.rank),
    "sla": (waiting_line.c.deadline, waiting_line.c.priority_order, waiting_line.c.rank),
}
HELD = ("called", "serving", "paused")


class PostgresLiveRecords(PostgresTicketRecords):
    """What hall displays are sent: a queue's line and its tickets on display."""

    def ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView | None:
        return self.find(tenant_id, ticket_id)

    def line(self, tenant_id: UUID, queue_id: UUID, limit: int) -> QueueLine:
        policy = select(ticket_queues.c.policy).where(ticket_queues.c.queue_id == queue_id)
        waiting = (
            select(func.count())
            .select_from(waiting_line)
            .where(waiting_line.c.queue_id == queue_id)
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            order = CALL_ORDER.get(
                connection.execute(policy).scalar() or "fifo", CALL_ORDER["fifo"]
            )
            count = connection.execute(waiting).scalar_one()
            numbers = connection.execute(
                select(tickets.c.number)
                .select_from(
                    waiting_line.join(tickets, tickets.c.ticket_id == waiting_line.c.ticket_id)
                )
                .where(waiting_line.c.queue_id == queue_id)
                .order_by(*order)
                .limit(limit)
            ).scalars()
            return QueueLine(waiting=count, next=list(numbers))

    def on_display(self, tenant_id: UUID, queue_id: UUID, recent: int) -> list[TicketView]:
        of_queue = and_(tickets.c.tenant_id == tenant_id, tickets.c.queue_id == queue_id)
        zone = func.coalesce(
            select(queue_eta.c.timezone).where(queue_eta.c.queue_id == queue_id).scalar_subquery(),
            "UTC",
        )
        local_midnight = func.timezone(
            zone, func.date_trunc("day", func.timezone(zone, func.now()))
        )
        held = select(tickets).where(of_queue, tickets.c.status.in_(HELD))
        latest = (
            select(tickets)
            .where(of_queue, tickets.c.called_at >= local_midnight)
            .order_by(tickets.c.called_at.desc())
            .limit(recent)
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = [
                *connection.execute(_with_positions(held.subquery())),
                *connection.execute(_with_positions(latest.subquery())),
            ]
        unique = {view.id: view for view in map(_view, rows)}
        return sorted(unique.values(), key=_called_latest_first)


def _called_latest_first(ticket: TicketView) -> tuple[bool, float]:
    called = ticket.called_at
    return (called is None, -called.timestamp() if called else 0.0)


def _conditions(where: TicketFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.statuses:
        conditions.append(tickets.c.status.in_(sorted(where.statuses)))
    for name in ("queue_id", "service_id", "agent_id", "customer_id"):
        value = getattr(where, name)
        if value is not None:
            conditions.append(tickets.c[name] == value)
    if where.site_id is not None:
        at_site = select(ticket_queues.c.queue_id).where(ticket_queues.c.site_id == where.site_id)
        conditions.append(tickets.c.queue_id.in_(at_site))
    if where.since is not None:
        conditions.append(tickets.c.issued_at >= where.since)
    if where.until is not None:
        conditions.append(tickets.c.issued_at < where.until)
    return conditions
