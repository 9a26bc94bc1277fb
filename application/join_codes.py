"""One-time SMS codes for remote joins, per tenant (:mod:`domain.join_codes`).

A tenant's ``join_code`` setting is ``off`` (the default: joins as before) or ``sms``. When on,
a customer first asks for a code for their phone (:meth:`JoinCodes.send_code`): six digits go
out as a ``join_code`` SMS through the delivery ledger and jobs, and only a keyed digest is kept
for :attr:`JoinCodes.ttl_seconds`. The join then redeems it (:meth:`JoinCodes.redeem`): right
once, within the time, before too many wrong guesses.

The setting lives in a write-side table rather than in events on the tenant: it is
configuration edited in place that no follower needs (as the notification settings).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, Protocol
from uuid import UUID

import msgspec

from application.context import CommandContext
from application.errors import TooManyAttempts
from domain.errors import InvalidInput
from domain.join_codes import (
    MAX_ATTEMPTS,
    JoinCodeInvalid,
    JoinCodeMode,
    JoinCodeOff,
    JoinCodeRequired,
    check_join_code_mode,
    code_digest,
    is_well_formed,
    new_code,
    phone_key,
)

DEFAULT_TTL_SECONDS = 600


class JoinCodeLocked(TooManyAttempts):
    """Raised when the code of a phone was guessed wrong too often: only a new code helps."""

    code = "join_code_locked"


class JoinSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's remote-join settings."""

    join_code: Literal["off", "sms"]
    """``sms``: a remote join needs a one-time code sent to the customer's phone."""
    updated_at: datetime | None = None
    """When the tenant last saved them; ``None`` while the defaults apply."""


class Redemption(msgspec.Struct, frozen=True):
    """What the vault said of a code given back."""

    outcome: Literal["ok", "wrong", "missing", "locked"]
    attempts_left: int = 0
    ttl_seconds: int = 0


class JoinSettingsStore(Protocol):
    """Where tenants' remote-join settings are kept (PostgreSQL)."""

    def get(self, tenant_id: UUID) -> JoinSettings | None:
        """The tenant's saved settings, or ``None``."""
        ...

    def put(self, tenant_id: UUID, settings: JoinSettings) -> None:
        """Save the tenant's settings."""
        ...


class JoinCodeVault(Protocol):
    """Where code digests wait for their join (Redis, with a time to live)."""

    def store(self, key: str, digest: str, ttl_seconds: int) -> None:
        """Keep ``digest`` under ``key`` for ``ttl_seconds``, replacing any earlier code and
        its count of wrong guesses."""
        ...

    def redeem(self, key: str, digest: str, max_attempts: int) -> Redemption:
        """Atomically: ``ok`` (and forget the code) when ``digest`` is the one kept; else
        count a wrong guess; ``locked`` once ``max_attempts`` wrong guesses were made;
        ``missing`` when no code is kept (never sent, expired or used)."""
        ...


class JoinCodeSender(Protocol):
    """Sends a code to a phone (the delivery ledger, then an SMS job)."""

    def send(
        self, tenant_id: UUID, phone: str, code: str, values: dict[str, object], language: str
    ) -> None:
        """Record and queue the ``join_code`` SMS with ``values`` (``code``, ``minutes``,
        ``site``) in ``language``."""
        ...


class JoinCodes:
    """The tenants' join-code setting, and sending and redeeming codes."""

    def __init__(
        self,
        settings: JoinSettingsStore,
        vault: JoinCodeVault,
        sender: JoinCodeSender,
        key: bytes,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        randbelow: Callable[[int], int] = secrets.randbelow,
    ) -> None:
        if len(key) < 32:
            raise ValueError("a join-code key needs at least 32 bytes")
        self.settings = settings
        self.vault = vault
        self.sender = sender
        self.key = key
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.randbelow = randbelow

    def get_settings(self, tenant_id: UUID) -> JoinSettings:
        """The tenant's settings; ``join_code`` is ``off`` until it saves its own."""
        return self.settings.get(tenant_id) or JoinSettings(join_code=JoinCodeMode.OFF.value)

    def put_settings(self, context: CommandContext, join_code: str) -> JoinSettings:
        """Replace the tenant's settings (``join_code``: ``off`` or ``sms``)."""
        if context.tenant_id is None:
            raise InvalidInput("remote-join settings need a tenant")
        mode = check_join_code_mode(join_code)
        saved = JoinSettings(join_code=mode.value, updated_at=self.clock())
        self.settings.put(context.tenant_id, saved)
        return saved

    def required(self, tenant_id: UUID) -> bool:
        """Whether the tenant's remote joins need a code."""
        return self.get_settings(tenant_id).join_code == JoinCodeMode.SMS

    def send_code(self, tenant_id: UUID, phone: str, language: str, site_name: str) -> int:
        """Send a new code to ``phone`` (E.164), replacing any earlier one; the seconds it is
        good for. :class:`JoinCodeOff` when the tenant needs none."""
        if not self.required(tenant_id):
            raise JoinCodeOff("this site's remote joins need no code")
        code = new_code(self.randbelow)
        key = phone_key(self.key, tenant_id, phone)
        self.vault.store(key, code_digest(self.key, tenant_id, phone, code), self.ttl_seconds)
        values: dict[str, object] = {
            "code": code,
            "minutes": max(1, self.ttl_seconds // 60),
            "site": site_name,
        }
        self.sender.send(tenant_id, phone, code, values, language)
        return self.ttl_seconds

    def redeem(self, tenant_id: UUID, phone: str | None, code: str | None) -> None:
        """Use up the code given with a join when the tenant requires one: nothing when it
        does not; :class:`JoinCodeRequired` (422) without a phone or code;
        :class:`JoinCodeInvalid` (403) for a wrong, expired or used code, saying how many
        guesses are left; :class:`JoinCodeLocked` (429) after too many wrong ones."""
        if not self.required(tenant_id):
            return
        if phone is None:
            raise JoinCodeRequired("this site needs a phone number and the code sent to it")
        if code is None or not code.strip():
            raise JoinCodeRequired("this site needs the code sent to your phone; ask for one")
        key = phone_key(self.key, tenant_id, phone)
        digest = code_digest(self.key, tenant_id, phone, code) if is_well_formed(code) else ""
        found = self.vault.redeem(key, digest, MAX_ATTEMPTS)
        if found.outcome == "ok":
            return
        if found.outcome == "locked":
            raise JoinCodeLocked(
                "too many wrong codes for this phone; ask for a new code",
                max(1, found.ttl_seconds),
            )
        if found.outcome == "missing":
            raise JoinCodeInvalid(
                "no valid code for this phone (expired or already used); ask for a new code", 0
            )
        left = found.attempts_left
        detail = f"wrong code; {left} attempt{'s' if left != 1 else ''} left"
        if left == 0:
            detail = "wrong code; no attempts left, ask for a new code"
        raise JoinCodeInvalid(detail, left)
