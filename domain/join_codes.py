"""One-time codes that prove a remote customer holds the phone they join with.

A tenant may require one (``join_code = sms``): the customer asks for a code, receives six
digits by SMS and gives them back with the join. Only digests are ever kept, keyed by the tenant
and the phone, so the store holds neither the number nor the code. A code is good for one join,
for a few minutes, and for :data:`MAX_ATTEMPTS` wrong guesses in all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from enum import StrEnum
from uuid import UUID

from domain.errors import Conflict, InvalidInput, NotPermitted

CODE_LENGTH = 6
MAX_ATTEMPTS = 5
"""Wrong codes accepted for one sent code; the next guess, right or wrong, is refused."""
_DIGITS = re.compile(rf"^\d{{{CODE_LENGTH}}}$")


class JoinCodeMode(StrEnum):
    """Whether a tenant's remote joins need a one-time code, and how it is sent."""

    OFF = "off"
    SMS = "sms"


def check_join_code_mode(value: str) -> JoinCodeMode:
    """The mode named ``value``, or :class:`InvalidInput` listing the modes."""
    try:
        return JoinCodeMode(value)
    except ValueError:
        modes = ", ".join(mode.value for mode in JoinCodeMode)
        raise InvalidInput(f"join_code {value!r} is not one of: {modes}") from None


class JoinCodeRequired(InvalidInput):
    """Raised when a tenant requires a one-time code and the join gives a phone without a code,
    or no phone at all."""

    code = "join_code_required"


class JoinCodeInvalid(NotPermitted):
    """Raised when a join's code is wrong, expired, already used or was never sent."""

    code = "join_code_invalid"

    def __init__(self, detail: str, attempts_left: int) -> None:
        super().__init__(detail)
        self.attempts_left = attempts_left


class JoinCodeOff(Conflict):
    """Raised when a code is asked for at a tenant whose joins need none."""

    code = "join_code_off"


def new_code(randbelow: Callable[[int], int]) -> str:
    """Six random digits (``randbelow`` is :func:`secrets.randbelow` outside tests)."""
    return f"{randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def is_well_formed(code: str) -> bool:
    """Whether ``code`` could be a code at all (six ASCII digits, spaces around ignored)."""
    return bool(_DIGITS.match(code.strip()))


def phone_key(key: bytes, tenant_id: UUID, phone: str) -> str:
    """Where the code of ``phone`` at ``tenant_id`` is kept: a digest, not the number."""
    message = f"join-code-key\x1f{tenant_id}\x1f{phone}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def code_digest(key: bytes, tenant_id: UUID, phone: str, code: str) -> str:
    """The digest kept in place of ``code`` (bound to the tenant and the phone)."""
    message = f"join-code\x1f{tenant_id}\x1f{phone}\x1f{code.strip()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
