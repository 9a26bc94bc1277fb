"""What every sign-in with a secret shares, staff (email and password) and devices (id and
secret) alike: the attempt is counted first, then the secret is verified against its stored
hash, and an unknown account, a wrong secret and an inactive account are refused alike and cost
the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar
from uuid import uuid4

from application.errors import AuthenticationFailed
from application.ports import LoginLimiter, PasswordHasher


class StoredSecret(Protocol):
    """A stored credential as sign-in reads it."""

    @property
    def secret_hash(self) -> str:
        """The slow, salted hash of the secret."""

    @property
    def active(self) -> bool:
        """False once the account may no longer sign in."""


Stored = TypeVar("Stored", bound=StoredSecret)


class SecretSignIn:
    """Counts an attempt, then checks a secret against the credential it claims."""

    def __init__(self, hasher: PasswordHasher, limiter: LoginLimiter) -> None:
        self.hasher = hasher
        self.limiter = limiter
        # Verifying against a real hash when the account is unknown makes both failures cost the
        # same, so timing does not tell which accounts exist.
        self._decoy_hash = hasher.hash(uuid4().hex)

    def admit(
        self,
        key: str,
        client_address: str | None,
        secret: str,
        find: Callable[[], Stored | None],
        refused: AuthenticationFailed,
    ) -> Stored:
        """The credential ``find`` returns when ``secret`` matches it and it is active.

        The attempt is counted under ``key`` and ``client_address`` before anything is looked
        up, so guessing costs the guesser (``TooManyAttempts`` over the limit); every failure
        raises ``refused``.
        """
        self.limiter.check(key, client_address)
        stored = find()
        if stored is None:
            self.hasher.verify(self._decoy_hash, secret)
            raise refused
        if not self.hasher.verify(stored.secret_hash, secret) or not stored.active:
            raise refused
        return stored
