"""Tenants' remote-join settings in PostgreSQL: the ``public_join_settings`` table (Alembic
revision 0015), every statement scoped to one tenant under forced row-level security."""

from __future__ import annotations

from uuid import UUID

from psycopg_pool import ConnectionPool

from application.join_codes import JoinSettings
from infrastructure.postgres.tenancy import set_tenant


class PostgresJoinSettings:
    """The ``JoinSettingsStore`` port on the process's pool."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def get(self, tenant_id: UUID) -> JoinSettings | None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                "SELECT join_code, updated_at FROM public_join_settings WHERE tenant_id = %s",
                (tenant_id,),
            ).fetchone()
        if row is None:
            return None
        join_code, updated_at = row
        return JoinSettings(join_code=join_code, updated_at=updated_at)

    def put(self, tenant_id: UUID, settings: JoinSettings) -> None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            connection.execute(
                "INSERT INTO public_join_settings (tenant_id, join_code, updated_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE"
                " SET join_code = excluded.join_code, updated_at = excluded.updated_at",
                (tenant_id, settings.join_code, settings.updated_at),
            )
