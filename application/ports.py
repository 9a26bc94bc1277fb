"""What the application needs from the outside world; infrastructure implements these."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from application.paging import Page, PageRequest
from application.views import AgentView, QueueView


@dataclass(frozen=True)
class Credential:
    """A user's login secret. It lives in its own table, never in an event."""

    user_id: UUID
    tenant_id: UUID
    email: str
    password_hash: str
    active: bool = True

    @property
    def secret_hash(self) -> str:
        """The password's hash, under the name every sign-in reads (``application.sign_in``)."""
        return self.password_hash


class CredentialStore(Protocol):
    """Emails are unique across the platform: login takes only an email and a password."""

    def add(self, credential: Credential) -> None:
        """Store a new credential; raise ``EmailTaken`` if the email is taken."""

    def find_by_email(self, email: str) -> Credential | None:
        """The credential for ``email`` (case-insensitive), if any."""

    def replace_hash(self, tenant_id: UUID, user_id: UUID, password_hash: str) -> None:
        """Store a re-computed hash (parameters changed since it was made)."""

    def remove(self, tenant_id: UUID, user_id: UUID) -> None:
        """Forget a credential (used to undo a half-made user)."""

    def set_active(self, tenant_id: UUID, user_id: UUID, active: bool) -> None:
        """Allow or refuse sign-in for this user."""


@dataclass(frozen=True)
class TokenSubject:
    """Whom a token is issued to, and what it allows."""

    user_id: UUID
    tenant_id: UUID
    role: str
    scopes: frozenset[str]
    site_id: UUID | None = None
    """A device's site: the one site whose resources its token reaches (``None`` for staff)."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says. ``session_id`` is shared by every token of one sign-in."""

    token_id: str
    session_id: str
    user_id: UUID
    tenant_id: UUID
    role: str
    scopes: frozenset[str]
    expires_at: datetime
    site_id: UUID | None = None


@dataclass(frozen=True)
class TokenPair:
    """A short-lived access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    expires_in: int
    """Seconds until the access token expires."""


class TokenService(Protocol):
    """Signed, expiring tokens and their revocation."""

    def issue(self, subject: TokenSubject, session_id: str | None = None) -> TokenPair:
        """Tokens for ``subject``: a new sign-in session unless ``session_id`` continues one."""

    def verify_access(self, token: str) -> Claims | None:
        """The claims of a valid, unrevoked access token, else ``None``."""

    def spend_refresh(self, token: str) -> Claims | None:
        """The claims of a valid, unrevoked, unspent refresh token, spent by this call in one
        atomic step, else ``None``. A token spent before revokes its whole session."""

    def revoke_session(self, session_id: str) -> None:
        """Refuse every token of one sign-in session."""

    def revoke_user(self, user_id: UUID) -> None:
        """Refuse every token issued so far to this user (deactivation, role change)."""


class LoginLimiter(Protocol):
    """Counts sign-in attempts per account and per client address, across processes."""

    def check(self, email: str, client_address: str | None) -> None:
        """Count one attempt; raise ``TooManyAttempts`` when a limit is exceeded."""


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id in production)."""

    def hash(self, password: str) -> str:
        """A new hash of ``password``."""

    def verify(self, password_hash: str, password: str) -> bool:
        """True if ``password`` matches ``password_hash``."""

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with weaker parameters than today's."""


class SideWrite(Protocol):
    """A change to a plain table that commits in the same transaction as a save's events.

    The event store's recorder applies it inside its write transaction, so when the events are
    refused (a lost concurrency race) the change is rolled back with them, and vice versa.
    """

    def apply(self, transaction: Any) -> None:
        """Perform the change inside ``transaction`` (the recorder's database cursor)."""


class WaitEstimator(Protocol):
    """How long a waiting ticket should wait until it is called (seconds)."""

    def estimate(self, tenant_id: UUID, queue_id: UUID, position: int) -> int | None:
        """The wait of the ticket at ``position`` (1 for the next one called) of the queue;
        ``None`` when nobody is on duty for the queue, so no estimate can be made."""

    def estimate_all(
        self, tenant_id: UUID, waiting: Sequence[tuple[UUID, int]]
    ) -> list[int | None]:
        """The waits of several tickets given as ``(queue_id, position)``, in that order, all
        estimated from the same facts at the same moment (what one answer shows together)."""


class Directory(Protocol):
    """The tenant's queues and agents as their lists show them (a read model: it trails the
    commands by its projection's lag)."""

    def queues(
        self, tenant_id: UUID, page: PageRequest, site_id: UUID | None = None
    ) -> Page[QueueView]:
        """A page of the tenant's queues in the order they were opened; only those of
        ``site_id`` when given. A cursor that names no queue of the list is ``InvalidInput``."""

    def agents(self, tenant_id: UUID, page: PageRequest) -> Page[AgentView]:
        """A page of the tenant's agents in the order their users were registered."""


@dataclass(frozen=True)
class TicketPass:
    """What a customer's ticket link proves: this one ticket of this tenant, until
    ``expires_at``. No personal data: the link travels in SMS and email."""

    tenant_id: UUID
    ticket_id: UUID
    expires_at: datetime


class TicketPasses(Protocol):
    """Capability tokens of the public "my ticket" page: unguessable, one ticket each, expiring
    with the ticket's day. Verification cannot tell a forged token from an expired one."""

    def issue(self, ticket_pass: TicketPass) -> str:
        """A URL-safe token proving ``ticket_pass``."""

    def verify(self, token: str) -> TicketPass | None:
        """The pass ``token`` proves, or ``None`` when it is malformed, forged or expired."""


class QueueLock(Protocol):
    """Serialises the commands that change a queue, across the threads and processes of every
    API instance: the holder loads, decides and saves while the others wait their turn, so
    agents calling next on one busy queue queue up instead of racing and retrying.

    The lock is an optimisation, not the guarantee: optimistic concurrency still refuses a stale
    save. An implementation that cannot take the lock in time lets the command run unlocked."""

    def holding(self, queue_ids: Iterable[UUID]) -> AbstractContextManager[object]:
        """Hold the lock of every queue of ``queue_ids`` (taken in one global order, so two
        commands naming the same queues never deadlock) until the context exits."""


class NoQueueLock:
    """No lock at all: the writers of a queue race on optimistic concurrency alone (the default
    of a context built without the composition root's lock)."""

    def holding(self, queue_ids: Iterable[UUID]) -> AbstractContextManager[object]:
        """Hold nothing."""
        return nullcontext()
