"""What the application needs from the outside world; infrastructure implements these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class Credential:
    """A user's login secret. It lives in its own table, never in an event."""

    user_id: UUID
    tenant_id: UUID
    email: str
    password_hash: str
    active: bool = True


@dataclass(frozen=True)
class TokenGrant:
    """What a valid access token stands for."""

    user_id: UUID
    tenant_id: UUID
    expires_at: datetime


class CredentialStore(Protocol):
    """Emails are unique across the platform: login takes only an email and a password."""

    def add(self, credential: Credential) -> None:
        """Store a new credential; raise ``DuplicateResource`` if the email is taken."""

    def find_by_email(self, email: str) -> Credential | None:
        """The credential for ``email`` (case-insensitive), if any."""

    def replace_hash(self, user_id: UUID, password_hash: str) -> None:
        """Store a re-computed hash (parameters changed since it was made)."""

    def remove(self, user_id: UUID) -> None:
        """Forget a credential (used to undo a half-made user)."""


class TokenStore(Protocol):
    """Opaque bearer tokens; only their digest is stored."""

    def issue(self, user_id: UUID, tenant_id: UUID, ttl_seconds: int) -> str:
        """Create a token and return it in clear, once."""

    def resolve(self, token: str) -> TokenGrant | None:
        """The grant behind a live token, or ``None`` if unknown, expired or revoked."""

    def revoke(self, token: str) -> None:
        """Make the token unusable at once."""


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id in production)."""

    def hash(self, password: str) -> str:
        """A new hash of ``password``."""

    def verify(self, password_hash: str, password: str) -> bool:
        """True if ``password`` matches ``password_hash``."""

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with weaker parameters than today's."""
