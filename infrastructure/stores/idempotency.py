"""Idempotency keys in PostgreSQL: claimed with ``INSERT ... ON CONFLICT DO NOTHING``.

The ``idempotency_keys`` table is defined by Alembic revision 0007.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg import Cursor
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.idempotency import (
    Claim,
    KeyPolicy,
    KeyRecord,
    KeyState,
    StoredResponse,
    Verdict,
    judge,
)
from infrastructure.postgres.definer_functions import PURGE_IDEMPOTENCY_KEYS
from infrastructure.postgres.tenancy import set_tenant

_COLUMNS = (
    "request_fingerprint, state, created_at, locked_until, claim_id,"
    " response_status, response_headers, response_body, applied"
)
# A row vanishing or changing between our statements (released, taken over) means: look again.
# Each turn is a few milliseconds; after this many the caller is told to wait and ask later.
_CLAIM_ATTEMPTS = 5
PURGE_INTERVAL = timedelta(seconds=60)
PURGE_BATCH = 500


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class PostgresIdempotencyStore:
    """One row per (tenant, key). Times come from ``clock`` so tests can move it."""

    def __init__(
        self,
        pool: ConnectionPool,
        policy: KeyPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.policy = policy or KeyPolicy()
        self.clock = clock
        self._next_purge: datetime | None = None
        self._purge_lock = threading.Lock()

    def claim(self, tenant_id: UUID, key: str, request_fingerprint: str) -> Claim:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            claim = self._claim(connection, tenant_id, key, request_fingerprint, self.clock())
        if claim.won:
            self._purge_now_and_then()
        return claim

    def _claim(
        self, connection, tenant_id: UUID, key: str, request_fingerprint: str, now: datetime
    ) -> Claim:
        where = {"tenant_id": tenant_id, "key": key}
        for _ in range(_CLAIM_ATTEMPTS):
            fresh = {
                **where,
                "fingerprint": request_fingerprint,
                "claim_id": uuid4(),
                "now": now,
                "locked_until": now + self.policy.lease,
            }
            inserted = connection.execute(
                "INSERT INTO idempotency_keys (tenant_id, key, request_fingerprint, state,"
                " claim_id, created_at, locked_until) VALUES (%(tenant_id)s, %(key)s,"
                " %(fingerprint)s, 'in_flight', %(claim_id)s, %(now)s, %(locked_until)s)"
                " ON CONFLICT (tenant_id, key) DO NOTHING RETURNING claim_id",
                fresh,
            ).fetchone()
            if inserted:
                return Claim(Verdict.TAKE, claim_id=fresh["claim_id"])
            record = self._read(connection, tenant_id, key)
            if record is None:
                continue  # released between our two statements
            verdict = judge(record, request_fingerprint, now, self.policy)
            if verdict not in (Verdict.TAKE, Verdict.TAKE_OVER):
                return Claim(verdict, record=record)
            # Compare-and-set on the claim id we saw: of several takers exactly one matches.
            taken = connection.execute(
                "UPDATE idempotency_keys SET request_fingerprint = %(fingerprint)s,"
                " state = 'in_flight', claim_id = %(claim_id)s, created_at = %(now)s,"
                " locked_until = %(locked_until)s, response_status = NULL, applied = false,"
                " response_headers = NULL, response_body = NULL"
                " WHERE tenant_id = %(tenant_id)s AND key = %(key)s AND claim_id = %(seen)s"
                " RETURNING claim_id",
                {**fresh, "seen": record.claim_id},
            ).fetchone()
            if taken:
                return Claim(verdict, claim_id=fresh["claim_id"])
        return Claim(Verdict.WAIT)

    def complete(self, tenant_id: UUID, key: str, claim_id: UUID, response: StoredResponse) -> bool:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            updated = connection.execute(
                "UPDATE idempotency_keys SET state = 'completed', locked_until = NULL,"
                " response_status = %s, response_headers = %s, response_body = %s"
                " WHERE tenant_id = %s AND key = %s AND claim_id = %s AND state = 'in_flight'",
                (
                    response.status,
                    Jsonb([list(pair) for pair in response.headers]),
                    response.body,
                    tenant_id,
                    key,
                    claim_id,
                ),
            )
            return updated.rowcount == 1

    def release(self, tenant_id: UUID, key: str, claim_id: UUID) -> None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            connection.execute(
                "DELETE FROM idempotency_keys WHERE tenant_id = %s AND key = %s"
                " AND claim_id = %s AND state = 'in_flight' AND NOT applied",
                (tenant_id, key, claim_id),
            )
            # An applied command's key is kept, its lease ended: retries are refused at once.
            connection.execute(
                "UPDATE idempotency_keys SET locked_until = created_at WHERE tenant_id = %s"
                " AND key = %s AND claim_id = %s AND state = 'in_flight' AND applied",
                (tenant_id, key, claim_id),
            )

    def applied_marker(self, tenant_id: UUID, key: str, claim_id: UUID) -> AppliedMarker:
        return AppliedMarker(tenant_id, key, claim_id)

    def purge_expired(self, limit: int) -> int:
        # Bounded by ``limit`` and served by the created_at index, so its cost stays flat. Keys
        # expire across tenants: the definer function deletes expired rows and nothing else.
        with self.pool.connection() as connection:
            row = connection.execute(
                f"SELECT {PURGE_IDEMPOTENCY_KEYS}(%s, %s)",
                (self.clock() - self.policy.ttl, limit),
            ).fetchone()
            return int(row[0]) if row else 0

    def _purge_now_and_then(self) -> None:
        """Purge a batch at most once a minute per process: expired rows are ignored anyway."""
        now = self.clock()
        with self._purge_lock:
            if self._next_purge is not None and now < self._next_purge:
                return
            self._next_purge = now + PURGE_INTERVAL
        self.purge_expired(PURGE_BATCH)

    def _read(self, connection, tenant_id: UUID, key: str) -> KeyRecord | None:
        row = connection.execute(
            f"SELECT {_COLUMNS} FROM idempotency_keys WHERE tenant_id = %s AND key = %s",  # noqa: S608
            (tenant_id, key),
        ).fetchone()
        if row is None:
            return None
        fingerprint, state, created_at, locked_until, claim_id, status, headers, body, applied = row
        response = None
        if state == KeyState.COMPLETED:
            pairs = tuple((str(name), str(value)) for name, value in headers or [])
            response = StoredResponse(status, pairs, bytes(body or b""))
        return KeyRecord(
            fingerprint,
            KeyState(state),
            created_at,
            locked_until,
            claim_id,
            response,
            applied=bool(applied),
        )


class AppliedMarker:
    """The side write marking a claim's command as applied; a claim taken over meanwhile (its
    claim id changed) is left alone."""

    def __init__(self, tenant_id: UUID, key: str, claim_id: UUID) -> None:
        self.tenant_id = tenant_id
        self.key = key
        self.claim_id = claim_id

    def apply(self, transaction: Cursor[Any]) -> None:
        # In the event store's transaction, under the table's forced row-level security.
        set_tenant(transaction, self.tenant_id)
        transaction.execute(
            "UPDATE idempotency_keys SET applied = true WHERE tenant_id = %s AND key = %s"
            " AND claim_id = %s AND state = 'in_flight'",
            (self.tenant_id, self.key, self.claim_id),
        )
