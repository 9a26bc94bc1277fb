"""Capability tokens of the public "my ticket" page: HMAC-SHA256 over ``ticket|tenant|expiry``.

The token is ``base64url(ticket_id(16) || tenant_id(16) || expiry(4, seconds since the epoch)
|| tag(16))``: 70 characters, nothing personal in it, nothing stored server-side. The tag is the
first 128 bits of HMAC-SHA256 under a key derived from the API's signing key (so a leaked ticket
key would not sign access tokens, and rotating the signing key ends every link). Tags are
compared in constant time; a malformed, forged or expired token all read as ``None``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from application.ports import TicketPass

DERIVATION_LABEL = b"smartqueue/public-ticket-pass/v1"
FEEDBACK_LABEL = b"smartqueue/feedback-pass/v1"
"""Feedback links are passes under their own key: a "my ticket" link cannot stand for one."""
APPOINTMENT_LABEL = b"smartqueue/appointment-pass/v1"
""""My appointment" links (``/a/{token}``) are passes under their own key too: the pass's
``ticket_id`` holds the appointment's id."""
HOLD_LABEL = b"smartqueue/hold-pass/v1"
"""Holds of the booking pages are passes under their own key: a hold token (two passes, naming
the hold's schedule and the hold) cannot stand for an appointment or a ticket."""
TAG_BYTES = 16
BODY = struct.Struct(">16s16sI")
TOKEN_BYTES = BODY.size + TAG_BYTES


def derive_pass_key(signing_key: bytes, label: bytes = DERIVATION_LABEL) -> bytes:
    """A pass key: an HMAC of a fixed label under the API's signing key."""
    return hmac.new(signing_key, label, hashlib.sha256).digest()


class HmacTicketPasses:
    """Issues and verifies ticket passes with one secret key shared by every API process."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(key) < 32:
            raise ValueError("a ticket-pass key needs at least 32 bytes")
        self.key = key
        self.clock = clock

    def issue(self, ticket_pass: TicketPass) -> str:
        expiry = int(ticket_pass.expires_at.timestamp())
        body = BODY.pack(ticket_pass.ticket_id.bytes, ticket_pass.tenant_id.bytes, expiry)
        return base64.urlsafe_b64encode(body + self._tag(body)).rstrip(b"=").decode()

    def verify(self, token: str) -> TicketPass | None:
        raw = _decode(token)
        if raw is None or len(raw) != TOKEN_BYTES:
            return None
        body, tag = raw[: BODY.size], raw[BODY.size :]
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        ticket_bytes, tenant_bytes, expiry = BODY.unpack(body)
        if expiry <= self.clock():
            return None
        return TicketPass(
            tenant_id=UUID(bytes=tenant_bytes),
            ticket_id=UUID(bytes=ticket_bytes),
            expires_at=datetime.fromtimestamp(expiry, UTC),
        )

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, hashlib.sha256).digest()[:TAG_BYTES]


def _decode(token: str) -> bytes | None:
    if not token or len(token) > 2 * TOKEN_BYTES or not token.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
