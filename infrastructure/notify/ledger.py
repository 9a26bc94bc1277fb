"""The notification ledger in PostgreSQL: one row per message, moved through its states by the
rules of :class:`domain.delivery.Delivery`.

Every read and write is scoped to one tenant (forced row-level security: the table is a
write-side table). A transition loads the row ``FOR UPDATE``, applies the domain method and
writes the row back in one transaction, so two jobs racing on one message serialise and the
second sees what the first did. The table is defined by Alembic revision 0009 (0013 adds the
``held`` and ``skipped`` states and ``not_before``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from application.paging import Page, PageRequest, encode_cursor
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import InvalidInput
from domain.messages import Channel, MessageKind
from infrastructure.notify.ledger_rows import (
    INSERT,
    SELECT,
    SELECT_ONE,
    DeadLetter,
    LedgerEntry,
    LedgerEntryNotFound,
    cursor_key,
    decode_key,
    entry_of,
    insert_live,
    row_of,
    write_entry,
)
from infrastructure.postgres.definer_functions import (
    DEAD_NOTIFICATIONS,
    NOTIFICATION_BY_PROVIDER_ID,
)
from infrastructure.postgres.tenancy import set_tenant

INSERT_CHUNK = 500
"""Entries per insert statement (22 parameters each; PostgreSQL takes 65,535 at most)."""


class PostgresLedger:
    """The ledger of every tenant's messages, on the process's psycopg pool."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def record(self, entry: LedgerEntry) -> bool:
        """Add ``entry`` unless its message id is already there (a redelivered event, a
        restarted notifier); whether it was added."""
        with self.pool.connection() as connection:
            set_tenant(connection, entry.tenant_id)
            cursor = connection.execute(INSERT, row_of(entry))
            return cursor.rowcount == 1

    def record_new(self, entries: Sequence[LedgerEntry]) -> set[UUID]:
        """Add the entries whose message id is not there yet, one statement per tenant; the
        ids added. An entry whose customer was erased meanwhile is not added: the check and
        the insert are one statement, so an erasure committed first always wins."""
        added: set[UUID] = set()
        by_tenant: dict[UUID, list[LedgerEntry]] = {}
        for entry in entries:
            by_tenant.setdefault(entry.tenant_id, []).append(entry)
        with self.pool.connection() as connection:
            for tenant_id, batch in by_tenant.items():
                set_tenant(connection, tenant_id)
                for start in range(0, len(batch), INSERT_CHUNK):
                    chunk = batch[start : start + INSERT_CHUNK]
                    rows = connection.execute(
                        insert_live(len(chunk)), [value for e in chunk for value in row_of(e)]
                    ).fetchall()
                    added.update(row[0] for row in rows)
                connection.commit()
        return added

    def queued_among(self, tenant_id: UUID, message_ids: Iterable[UUID]) -> set[UUID]:
        """Which of the tenant's ``message_ids`` are still waiting for their delivery job
        (queued, or held until the customer's quiet hours end): not sent, skipped nor dead."""
        waiting = [DeliveryStatus.QUEUED.value, DeliveryStatus.HELD.value]
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                "SELECT message_id FROM notification_ledger"
                " WHERE tenant_id = %s AND message_id = ANY(%s) AND status = ANY(%s)",
                (tenant_id, list(message_ids), waiting),
            ).fetchall()
        return {row[0] for row in rows}

    def skip_waiting(
        self, tenant_id: UUID, message_ids: Iterable[UUID], reason: str, at: datetime
    ) -> set[UUID]:
        """Mark ``skipped`` (never to be sent) those of the tenant's messages that still wait
        for their job; the ids skipped. One read when none waits, the usual case."""
        skipped: set[UUID] = set()
        for message_id in self.queued_among(tenant_id, message_ids):
            with self.locked(tenant_id, message_id) as entry:
                if entry.delivery.status in (DeliveryStatus.QUEUED, DeliveryStatus.HELD):
                    entry.delivery.skip(reason, at)
                    skipped.add(message_id)
        return skipped

    def get(self, tenant_id: UUID, message_id: UUID) -> LedgerEntry:
        """The tenant's message ``message_id``, or :class:`LedgerEntryNotFound`."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                SELECT_ONE,
                (tenant_id, message_id),
            ).fetchone()
        if row is None:
            raise LedgerEntryNotFound(f"no notification {message_id}")
        return entry_of(row)

    @contextmanager
    def locked(self, tenant_id: UUID, message_id: UUID) -> Iterator[LedgerEntry]:
        """The message under a row lock for the block, written back when the block ends
        (nothing is written when it raises): concurrent holders of one message take turns."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                SELECT_ONE + sql.SQL(" FOR UPDATE"),
                (tenant_id, message_id),
            ).fetchone()
            if row is None:
                raise LedgerEntryNotFound(f"no notification {message_id}")
            entry = entry_of(row)
            yield entry
            write_entry(connection, entry)

    def transition(
        self, tenant_id: UUID, message_id: UUID, change: Callable[[Delivery], None]
    ) -> LedgerEntry:
        """Apply ``change`` (a :class:`Delivery` method, which raises when the state forbids
        it) to the message under a row lock, and store the result; the entry after it."""
        with self.locked(tenant_id, message_id) as entry:
            change(entry.delivery)
        return entry

    def search(
        self,
        tenant_id: UUID,
        request: PageRequest,
        *,
        ticket_id: UUID | None = None,
        status: DeliveryStatus | None = None,
        channel: Channel | None = None,
        appointment_id: UUID | None = None,
        kind: MessageKind | None = None,
    ) -> Page[LedgerEntry]:
        """The tenant's messages, newest first, by ticket, status, channel, appointment and
        kind."""
        conditions = [sql.SQL("tenant_id = %s")]
        params: list[Any] = [tenant_id]
        filters: tuple[tuple[str, object], ...] = (
            ("ticket_id", ticket_id),
            ("status", status.value if status else None),
            ("channel", channel.value if channel else None),
            ("appointment_id", appointment_id),
            ("kind", kind.value if kind else None),
        )
        for column, value in filters:
            if value is not None:
                conditions.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                params.append(value)
        if request.cursor is not None:
            conditions.append(sql.SQL("(created_at, message_id) < (%s, %s)"))
            params.extend(decode_key(request.cursor))
        params.append(request.limit + 1)
        query = (
            SELECT
            + sql.SQL(" AND ").join(conditions)
            + sql.SQL(" ORDER BY created_at DESC, message_id DESC LIMIT %s")
        )
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(query, params).fetchall()
        entries = [entry_of(row) for row in rows]
        shown = entries[: request.limit]
        more = len(entries) > request.limit
        return Page(shown, encode_cursor(cursor_key(shown[-1])) if more else None)

    def erase(
        self,
        tenant_id: UUID,
        at: datetime,
        *,
        customer_id: UUID | None = None,
        ticket_id: UUID | None = None,
    ) -> int:
        """Forget the recipient and body of every message to ``customer_id`` (or about
        ``ticket_id``); unsent ones go dead. How many entries were erased."""
        if (customer_id is None) == (ticket_id is None):
            raise InvalidInput("erase the messages of one customer or of one ticket")
        column, value = ("customer_id", customer_id) if customer_id else ("ticket_id", ticket_id)
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                SELECT
                + sql.SQL("tenant_id = %s AND {} = %s AND NOT erased FOR UPDATE").format(
                    sql.Identifier(column)
                ),
                (tenant_id, value),
            ).fetchall()
            for row in rows:
                entry = entry_of(row)
                entry.delivery.erase(at)
                write_entry(connection, entry)
        return len(rows)

    def find_by_provider_id(self, provider_id: str) -> tuple[UUID, UUID] | None:
        """The (tenant id, message id) of the message a provider knows as ``provider_id``
        (through the owner's function: a provider's callback names no tenant)."""
        with self.pool.connection() as connection:
            row = connection.execute(
                sql.SQL("SELECT * FROM {}(%s)").format(sql.Identifier(NOTIFICATION_BY_PROVIDER_ID)),
                (provider_id,),
            ).fetchone()
        return (row[1], row[0]) if row else None

    def dead_letters(self, limit: int = 100, message_id: UUID | None = None) -> list[DeadLetter]:
        """Dead messages of every tenant, most recent first (through the owner's function: the
        operator's command knows no tenant); one message when ``message_id`` is given."""
        with self.pool.connection() as connection:
            rows = connection.execute(
                sql.SQL("SELECT * FROM {}(%s, %s)").format(sql.Identifier(DEAD_NOTIFICATIONS)),
                (message_id, limit),
            ).fetchall()
        return [DeadLetter(*row) for row in rows]
