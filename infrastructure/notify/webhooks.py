"""Signed outbound webhooks, and the check a receiver runs on them.

The body is the message's ``data`` as JSON. ``SmartQueue-Signature: t=<unix>,v1=<hex>`` carries the
time of signing and an HMAC-SHA256 of ``f"{t}.{body}"`` keyed with the subscription's secret, as
Stripe signs its events: a receiver recomputes it over the raw body, compares in constant time and
refuses old timestamps, so a captured request cannot be replayed later. ``SmartQueue-Event-Id`` and
``Idempotency-Key`` carry the ledger's message id, the same on every retry.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from collections.abc import Callable

import httpx
import msgspec

from application.delivery import OutboundMessage, PermanentFailure, Receipt, TransientFailure
from infrastructure.notify.http import DEFAULT_TIMEOUT, http_client, post

SIGNATURE_HEADER = "SmartQueue-Signature"
EVENT_ID_HEADER = "SmartQueue-Event-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE = 300.0
"""Seconds a receiver accepts between the signature's timestamp and its own clock."""


class WebhookChannel:
    """Posts the ``webhook`` channel's messages to their URL (the message's recipient)."""

    def __init__(
        self,
        signing_secret: Callable[[OutboundMessage], str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        user_agent: str = "SmartQueue-Webhooks/1",
        public_only: bool = True,
    ) -> None:
        """``signing_secret`` gives the secret of the subscription a message belongs to (the
        ledger's record of it); the secret never travels in the message itself.

        ``public_only`` refuses URLs whose host resolves to a loopback, private, link-local or
        otherwise non-global address, so a tenant's subscription cannot reach the operator's
        internal network. Turn it off only where receivers are local (development, tests)."""
        self._secret_for = signing_secret
        self._public_only = public_only
        self._client = client or http_client(timeout)
        self._clock = clock
        self._user_agent = user_agent

    def send(self, message: OutboundMessage) -> Receipt:
        """POST the signed body; any 2xx is delivered, redirects are not followed."""
        if not message.recipient.startswith(("https://", "http://")):
            raise PermanentFailure(f"webhook: not an http(s) URL: {message.recipient[:200]!r}")
        if self._public_only:
            check_public(message.recipient)
        body = msgspec.json.encode(message.data)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            SIGNATURE_HEADER: sign(self._secret_for(message), body, int(self._clock())),
            EVENT_ID_HEADER: message.message_id,
            IDEMPOTENCY_HEADER: message.message_id,
        }
        post(self._client, message.recipient, "webhook", content=body, headers=headers)
        return Receipt(provider_id=message.message_id, status="sent")

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()


def check_public(url: str) -> None:
    """Refuse ``url`` unless every address its host resolves to is a global one.

    This is checked before the request and the client resolves the name again, so a name whose
    answers change between the two (DNS rebinding) is not covered; an egress proxy is.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise PermanentFailure(f"webhook: invalid URL ({error})") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        answers = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TransientFailure(f"webhook: cannot resolve {parsed.host!r} ({error})") from None
    for *_, address in answers:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if not ip.is_global:
            raise PermanentFailure(f"webhook: {parsed.host!r} is not a public address ({ip})")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` keyed with ``secret``."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``SmartQueue-Signature`` header's value for ``body`` signed at ``timestamp``."""
    return f"t={timestamp},{SIGNATURE_SCHEME}={signature(secret, body, timestamp)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid ``SmartQueue-Signature`` for the raw ``body``, made with
    ``secret`` at most ``tolerance`` seconds from ``now``. Several ``v1`` entries may be present
    (while a secret is rotated); one match is enough."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == SIGNATURE_SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).encode()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in candidates)
