"""Customers' personal data in PostgreSQL: the ``customer_profiles`` table.

Writes are not executed here: they are returned as :class:`SqlWrite` side writes, which the
side-writing recorder executes on its own cursor, inside the transaction that records the
customer's events. Reads use the process's pool. The table is defined by Alembic revision 0007
(its ``push_token`` by 0014).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.customers import CustomerProfile
from infrastructure.postgres.side_writes import SqlWrite
from infrastructure.postgres.tenancy import set_tenant

SELECT = sql.SQL(
    "SELECT tenant_id, customer_id, name, phone_e164, email, metadata, created_at, push_token"
    " FROM customer_profiles WHERE "
)
INSERT = (
    "INSERT INTO customer_profiles"
    " (tenant_id, customer_id, name, phone_e164, email, metadata, created_at, push_token)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


class PostgresCustomerProfiles:
    """The ``CustomerProfiles`` port on PostgreSQL."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def insert(self, profile: CustomerProfile) -> SqlWrite:
        return SqlWrite(
            INSERT,
            (
                profile.tenant_id,
                profile.customer_id,
                profile.name,
                profile.phone_e164,
                profile.email,
                Jsonb(profile.metadata),
                profile.created_at,
                profile.push_token,
            ),
            profile.tenant_id,
        )

    def update(self, profile: CustomerProfile) -> SqlWrite:
        return SqlWrite(
            "UPDATE customer_profiles SET name = %s, phone_e164 = %s, email = %s, metadata = %s,"
            " push_token = %s WHERE tenant_id = %s AND customer_id = %s",
            (
                profile.name,
                profile.phone_e164,
                profile.email,
                Jsonb(profile.metadata),
                profile.push_token,
                profile.tenant_id,
                profile.customer_id,
            ),
            profile.tenant_id,
        )

    def delete(self, tenant_id: UUID, customer_id: UUID) -> SqlWrite:
        return SqlWrite(
            "DELETE FROM customer_profiles WHERE tenant_id = %s AND customer_id = %s",
            (tenant_id, customer_id),
            tenant_id,
        )

    def get(self, tenant_id: UUID, customer_id: UUID) -> CustomerProfile | None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                SELECT + sql.SQL("tenant_id = %s AND customer_id = %s"),
                (tenant_id, customer_id),
            ).fetchone()
        return CustomerProfile(*row) if row else None

    def page(
        self,
        tenant_id: UUID,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
        phone_e164: str | None = None,
        name: str | None = None,
    ) -> list[CustomerProfile]:
        conditions = ["tenant_id = %s"]
        params: list[Any] = [tenant_id]
        if after is not None:
            conditions.append("(created_at, customer_id) > (%s, %s)")
            params.extend(after)
        if phone_e164 is not None:
            conditions.append("phone_e164 = %s")
            params.append(phone_e164)
        if name is not None:
            # position() rather than LIKE: the client's % and _ are plain characters here.
            conditions.append("position(lower(%s) in lower(name)) > 0")
            params.append(name)
        params.append(limit)
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                SELECT
                + sql.SQL(" AND ").join(sql.SQL(condition) for condition in conditions)
                + sql.SQL(" ORDER BY created_at, customer_id LIMIT %s"),
                params,
            ).fetchall()
        return [CustomerProfile(*row) for row in rows]
