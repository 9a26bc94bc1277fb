"""The PostgreSQL table of credentials, and the argon2id password hasher.

The table is defined by Alembic revision 0007 (``infrastructure/postgres/migrations/versions``).
"""

from __future__ import annotations

from uuid import UUID

import argon2
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from application.errors import EmailTaken
from application.ports import Credential
from infrastructure.postgres.definer_functions import CREDENTIAL_BY_EMAIL
from infrastructure.postgres.tenancy import set_tenant


class PostgresCredentialStore:
    """Credentials keyed by user, unique by lower-cased email. Every statement runs for one
    tenant under row-level security, except the look-up by email at sign-in, which goes
    through the one definer function that returns the credential asked for."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def add(self, credential: Credential) -> None:
        try:
            with self.pool.connection() as connection:
                set_tenant(connection, credential.tenant_id)
                connection.execute(
                    "INSERT INTO identity_credentials"
                    " (user_id, tenant_id, email, password_hash, active)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (
                        credential.user_id,
                        credential.tenant_id,
                        credential.email,
                        credential.password_hash,
                        credential.active,
                    ),
                )
        except psycopg.errors.UniqueViolation:
            raise EmailTaken from None  # never says by whom, or in which tenant

    def find_by_email(self, email: str) -> Credential | None:
        with self.pool.connection() as connection:
            row = connection.execute(
                sql.SQL(
                    "SELECT user_id, tenant_id, email, password_hash, active FROM {}(%s)"
                ).format(sql.Identifier(CREDENTIAL_BY_EMAIL)),
                (email,),
            ).fetchone()
        return Credential(*row) if row else None

    def replace_hash(self, tenant_id: UUID, user_id: UUID, password_hash: str) -> None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            connection.execute(
                "UPDATE identity_credentials SET password_hash = %s WHERE user_id = %s",
                (password_hash, user_id),
            )

    def remove(self, tenant_id: UUID, user_id: UUID) -> None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            connection.execute("DELETE FROM identity_credentials WHERE user_id = %s", (user_id,))

    def set_active(self, tenant_id: UUID, user_id: UUID, active: bool) -> None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            connection.execute(
                "UPDATE identity_credentials SET active = %s WHERE user_id = %s", (active, user_id)
            )


class Argon2Hasher:
    """argon2id with OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane."""

    def __init__(
        self, time_cost: int = 2, memory_cost: int = 19 * 1024, parallelism: int = 1
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
