"""WebSocket tickets: browsers cannot send ``Authorization`` when they open a WebSocket, so a
client trades its access token for a short-lived, single-use ticket and puts that in the socket's
URL. A ticket in a URL may end up in a proxy's log: it expires within seconds and opens one
socket at most, and only its digest is stored.
"""

from __future__ import annotations

import hashlib
import secrets

import redis

from application.errors import Unavailable

PREFIX = "sq:ws-ticket"


def _key(ticket: str) -> str:
    return f"{PREFIX}:{hashlib.sha256(ticket.encode()).hexdigest()}"


class RedisSocketTickets:
    """Tickets in Redis: the access token they stand for, kept ``ttl_seconds``."""

    def __init__(self, client: redis.Redis, ttl_seconds: int = 30) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds

    def issue(self, access_token: str) -> str:
        """A new ticket for ``access_token`` (already verified by the caller)."""
        ticket = secrets.token_urlsafe(32)
        try:
            self.client.set(_key(ticket), access_token, ex=self.ttl_seconds)
        except redis.RedisError as error:
            raise Unavailable("the ticket store (Redis) is unreachable; retry shortly") from error
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The access token ``ticket`` stands for, once: the ticket is gone afterwards."""
        try:
            return self.client.getdel(_key(ticket))
        except redis.RedisError as error:
            raise Unavailable("the ticket store (Redis) is unreachable; retry shortly") from error
