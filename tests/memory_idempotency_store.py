"""An in-memory idempotency store: the same rules as the PostgreSQL one, for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID, uuid4

from application.idempotency import (
    Claim,
    KeyPolicy,
    KeyRecord,
    KeyState,
    StoredResponse,
    Verdict,
    judge,
)


class MemoryIdempotencyStore:
    """Keys in a dict behind a lock; ``clock`` is the test's."""

    def __init__(self, clock: Callable[[], datetime], policy: KeyPolicy | None = None) -> None:
        self.clock = clock
        self.policy = policy or KeyPolicy()
        self.records: dict[tuple[UUID, str], KeyRecord] = {}
        self._lock = threading.Lock()

    def claim(self, tenant_id: UUID, key: str, request_fingerprint: str) -> Claim:
        now = self.clock()
        with self._lock:
            record = self.records.get((tenant_id, key))
            verdict = judge(record, request_fingerprint, now, self.policy)
            if verdict not in (Verdict.TAKE, Verdict.TAKE_OVER):
                return Claim(verdict, record=record)
            claim_id = uuid4()
            self.records[(tenant_id, key)] = KeyRecord(
                request_fingerprint, KeyState.IN_FLIGHT, now, now + self.policy.lease, claim_id
            )
            return Claim(verdict, claim_id=claim_id)

    def complete(self, tenant_id: UUID, key: str, claim_id: UUID, response: StoredResponse) -> bool:
        with self._lock:
            record = self.records.get((tenant_id, key))
            if record is None or record.claim_id != claim_id:
                return False
            if record.state is not KeyState.IN_FLIGHT:
                return False
            self.records[(tenant_id, key)] = replace(
                record, state=KeyState.COMPLETED, locked_until=None, response=response
            )
            return True

    def release(self, tenant_id: UUID, key: str, claim_id: UUID) -> None:
        with self._lock:
            record = self.records.get((tenant_id, key))
            if record and record.claim_id == claim_id and record.state is KeyState.IN_FLIGHT:
                if record.applied:
                    self.records[(tenant_id, key)] = replace(record, locked_until=record.created_at)
                else:
                    del self.records[(tenant_id, key)]

    def applied_marker(self, tenant_id: UUID, key: str, claim_id: UUID) -> _Marker:
        return _Marker(self, tenant_id, key, claim_id)

    def mark_applied(self, tenant_id: UUID, key: str, claim_id: UUID) -> None:
        with self._lock:
            record = self.records.get((tenant_id, key))
            if record and record.claim_id == claim_id and record.state is KeyState.IN_FLIGHT:
                self.records[(tenant_id, key)] = replace(record, applied=True)

    def purge_expired(self, limit: int) -> int:
        cut = self.clock() - self.policy.ttl
        with self._lock:
            expired = sorted(
                (record.created_at, where)
                for where, record in self.records.items()
                if record.created_at <= cut
            )[:limit]
            for _, where in expired:
                del self.records[where]
        return len(expired)


@dataclass(frozen=True)
class _Marker:
    """The in-memory side write: applied by the in-memory recorder with the events."""

    store: MemoryIdempotencyStore
    tenant_id: UUID
    key: str
    claim_id: UUID

    def apply(self, transaction: object) -> None:
        self.store.mark_applied(self.tenant_id, self.key, self.claim_id)
