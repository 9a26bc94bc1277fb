"""Idempotency keys: what a repeated command request gets, decided by pure rules.

A client sends a key with a command; the first request with that key (per tenant) runs, later
ones with the same request get the first response again instead of a second effect. The rules
here are pure functions of a stored record, the request's fingerprint and the clock, so they are
tested with plain values; the store behind :class:`IdempotencyStore` only keeps records.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from application.ports import SideWrite

MAX_KEY_LENGTH = 255
# Visible ASCII (RFC 5234 VCHAR), no spaces: a key survives any proxy and log line unchanged.
_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$")


def is_valid_key(key: str) -> bool:
    """True for 1 to 255 visible ASCII characters."""
    return bool(_KEY.match(key))


def fingerprint(*parts: bytes | str) -> str:
    """A SHA-256 over length-prefixed parts, so no two different part lists collide by joining."""
    digest = hashlib.sha256()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        digest.update(len(raw).to_bytes(8, "big"))
        digest.update(raw)
    return digest.hexdigest()


class KeyState(enum.StrEnum):
    """A key is held by a running request, or remembers that request's final response."""

    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"


@dataclass(frozen=True)
class StoredResponse:
    """A final response as the client first received it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class KeyRecord:
    """One tenant's key: which request claimed it, and its response once there is one."""

    fingerprint: str
    state: KeyState
    created_at: datetime
    locked_until: datetime | None
    claim_id: UUID
    response: StoredResponse | None = None
    applied: bool = False
    """The claim's command committed (its marker is written with the command's events): even
    without a response, running it again would apply it twice."""


class Verdict(enum.Enum):
    """What a request carrying an already-known key must do."""

    TAKE = "take"  # nobody holds the key (never used, or expired): run the command
    TAKE_OVER = "take_over"  # the holder's lease ran out (its process died): run it again
    REPLAY = "replay"  # the same request finished: answer with its response
    MISMATCH = "mismatch"  # the key was used for another request: refuse
    WAIT = "wait"  # the same request is running: wait for its response
    APPLIED = "applied"  # the same request took effect but ended without a response: refuse


@dataclass(frozen=True)
class KeyPolicy:
    """How long a key is remembered and how long a running request holds it."""

    ttl: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)


def judge(
    record: KeyRecord | None, request_fingerprint: str, now: datetime, policy: KeyPolicy
) -> Verdict:
    """The verdict for a request with ``request_fingerprint`` finding ``record`` under its key."""
    if record is None or record.created_at + policy.ttl <= now:
        return Verdict.TAKE
    if record.fingerprint != request_fingerprint:
        return Verdict.MISMATCH
    if record.state is KeyState.COMPLETED:
        return Verdict.REPLAY
    if record.locked_until is None or record.locked_until <= now:
        # The holder ended without a response (released, or its process died). Had its command
        # committed, running it again would apply it twice.
        return Verdict.APPLIED if record.applied else Verdict.TAKE_OVER
    return Verdict.WAIT


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: ours to run (``claim_id``), or someone else's record."""

    verdict: Verdict
    claim_id: UUID | None = None
    record: KeyRecord | None = None

    @property
    def won(self) -> bool:
        """True when this request now holds the key and must run the command."""
        return self.claim_id is not None


class IdempotencyStore(Protocol):
    """Keys per tenant; claiming is atomic, so of racing requests exactly one wins."""

    policy: KeyPolicy

    def claim(self, tenant_id: UUID, key: str, request_fingerprint: str) -> Claim:
        """Take the key (free, expired, or its lease ran out) or report who has it."""

    def complete(self, tenant_id: UUID, key: str, claim_id: UUID, response: StoredResponse) -> bool:
        """Remember the final response of the claim; False if the claim was lost meanwhile."""

    def release(self, tenant_id: UUID, key: str, claim_id: UUID) -> None:
        """End a claim whose request ended without a final response: forget it, so a retry
        runs, unless its command was applied; then a retry is refused (``APPLIED``)."""

    def applied_marker(self, tenant_id: UUID, key: str, claim_id: UUID) -> SideWrite:
        """A side write recording that the claim's command took effect. Saved in the same
        transaction as the command's events, it is there exactly when they are, also when the
        connection dies during COMMIT and nobody knows which way it went."""

    def purge_expired(self, limit: int) -> int:
        """Delete up to ``limit`` expired keys; return how many went."""


def purge_expired_keys(store: IdempotencyStore, batch: int = 500, max_batches: int = 20) -> int:
    """Delete expired keys batch by batch until a batch comes back short (or ``max_batches``
    ran, so one round's cost stays bounded; the next round goes on); how many went."""
    purged = 0
    for _ in range(max_batches):
        deleted = store.purge_expired(batch)
        purged += deleted
        if deleted < batch:
            break
    return purged
