"""The sign-in steps staff and devices share: count first, verify always, refuse alike."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from application.errors import AuthenticationFailed, TooManyAttempts
from application.sign_in import SecretSignIn


@dataclass
class RecordingHasher:
    """Hashes are ``hash:<secret>``; every call is recorded in order."""

    calls: list[str] = field(default_factory=list)

    def hash(self, password: str) -> str:
        return f"hash:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls.append(f"verify {password_hash}")
        return password_hash == f"hash:{password}"

    def needs_rehash(self, password_hash: str) -> bool:
        return False


@dataclass
class RecordingLimiter:
    """Refuses once ``allowed`` attempts were counted."""

    log: list[str]
    allowed: int = 10

    def check(self, email: str, client_address: str | None) -> None:
        self.log.append(f"count {email} {client_address}")
        if sum(entry.startswith("count") for entry in self.log) > self.allowed:
            raise TooManyAttempts("too many attempts", 30)


@dataclass(frozen=True)
class Stored:
    secret_hash: str
    active: bool = True


def _sign_in(allowed: int = 10) -> tuple[SecretSignIn, RecordingHasher, list[str]]:
    hasher = RecordingHasher()
    limiter = RecordingLimiter(hasher.calls, allowed)
    return SecretSignIn(hasher, limiter), hasher, hasher.calls


def test_a_matching_secret_of_an_active_account_is_admitted() -> None:
    gate, _, _ = _sign_in()
    stored = Stored("hash:s3cret")
    assert (
        gate.admit("key", "10.0.0.1", "s3cret", lambda: stored, AuthenticationFailed("no"))
        is stored
    )


def test_an_unknown_account_costs_a_real_verify_and_is_refused_alike() -> None:
    gate, _, calls = _sign_in()
    refused = AuthenticationFailed("invalid")
    looked_up: list[str] = []

    def find() -> Stored | None:
        looked_up.append("find")
        return None

    with pytest.raises(AuthenticationFailed) as caught:
        gate.admit("who@example.com", "10.0.0.1", "guess", find, refused)
    assert caught.value is refused
    assert calls[0] == "count who@example.com 10.0.0.1"
    assert looked_up == ["find"]
    assert len(calls) == 2 and calls[1].startswith("verify hash:")  # the decoy


@pytest.mark.parametrize(
    ("stored", "secret"), [(Stored("hash:right"), "wrong"), (Stored("hash:right", False), "right")]
)
def test_a_wrong_secret_or_an_inactive_account_is_refused(stored: Stored, secret: str) -> None:
    gate, _, calls = _sign_in()
    refused = AuthenticationFailed("invalid")
    with pytest.raises(AuthenticationFailed) as caught:
        gate.admit("key", None, secret, lambda: stored, refused)
    assert caught.value is refused
    assert calls == ["count key None", "verify hash:right"]


def test_the_attempt_is_counted_before_anything_is_looked_up() -> None:
    gate, _, calls = _sign_in(allowed=0)

    def find() -> Stored | None:
        raise AssertionError("looked up despite the limit")

    with pytest.raises(TooManyAttempts):
        gate.admit("key", "10.0.0.1", "s3cret", find, AuthenticationFailed("no"))
    assert calls == ["count key 10.0.0.1"]
