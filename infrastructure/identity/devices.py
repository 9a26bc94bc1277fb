"""Devices' hashed secrets in PostgreSQL: the ``device_credentials`` table.

Writes are side writes: the recorder executes them in the transaction that records the device's
events, so a device never exists without its secret, nor a revocation without its effect. The
table is defined by Alembic revision 0007.
"""

from __future__ import annotations

from uuid import UUID

from psycopg import sql
from psycopg_pool import ConnectionPool

from application.devices import DeviceCredential
from infrastructure.postgres.definer_functions import DEVICE_CREDENTIAL
from infrastructure.postgres.side_writes import SqlWrite


class PostgresDeviceCredentials:
    """The ``DeviceCredentials`` port on PostgreSQL."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def insert(self, credential: DeviceCredential) -> SqlWrite:
        return SqlWrite(
            "INSERT INTO device_credentials (device_id, tenant_id, secret_hash, active)"
            " VALUES (%s, %s, %s, %s)",
            (credential.device_id, credential.tenant_id, credential.secret_hash, credential.active),
            credential.tenant_id,
        )

    def replace(self, tenant_id: UUID, device_id: UUID, secret_hash: str) -> SqlWrite:
        return SqlWrite(
            "UPDATE device_credentials SET secret_hash = %s WHERE device_id = %s",
            (secret_hash, device_id),
            tenant_id,
        )

    def deactivate(self, tenant_id: UUID, device_id: UUID) -> SqlWrite:
        return SqlWrite(
            "UPDATE device_credentials SET active = false WHERE device_id = %s",
            (device_id,),
            tenant_id,
        )

    def get(self, device_id: UUID) -> DeviceCredential | None:
        # A device signs in before its tenant is known: the definer function returns its row.
        with self.pool.connection() as connection:
            row = connection.execute(
                sql.SQL("SELECT device_id, tenant_id, secret_hash, active FROM {}(%s)").format(
                    sql.Identifier(DEVICE_CREDENTIAL)
                ),
                (device_id,),
            ).fetchone()
        return DeviceCredential(*row) if row else None
