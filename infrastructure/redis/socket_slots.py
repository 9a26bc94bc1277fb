"""How many WebSockets one access token holds open, counted in Redis so that every API process
sees the same number: a stolen or buggy client cannot open sockets without bound.

Each open socket holds a slot with a lease, renewed while it stays open; a slot whose process died
without releasing it lapses when its lease does, so a crash never locks a token out for good.
"""

from __future__ import annotations

import contextlib
import hashlib

import redis

from application.errors import Unavailable

PREFIX = "sq:ws-open"

# Drop lapsed slots, then take one if fewer than the limit are held. Redis' own clock, so the
# API processes' clocks need not agree.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
_RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


def _key(token: str) -> str:
    # The digest only: the token itself never rests in Redis under this key.
    return f"{PREFIX}:{hashlib.sha256(token.encode()).hexdigest()}"


class RedisSocketSlots:
    """At most ``limit`` open sockets per token (``0``: no limit); each slot lapses after
    ``lease_seconds`` unless renewed."""

    def __init__(self, client: redis.Redis, limit: int, lease_seconds: float) -> None:
        self.client = client
        self.limit = limit
        self.lease_ms = max(1000, int(lease_seconds * 1000))
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)

    def acquire(self, token: str, slot: str) -> bool:
        """Take a slot named ``slot`` for ``token``; False when it already holds ``limit``."""
        if self.limit <= 0:
            return True
        try:
            return bool(self._acquire(keys=[_key(token)], args=[self.lease_ms, self.limit, slot]))
        except redis.RedisError as error:
            raise Unavailable(
                "the socket registry (Redis) is unreachable; retry shortly"
            ) from error

    def renew(self, token: str, slot: str) -> None:
        """Extend the lease of a socket still open."""
        if self.limit <= 0:
            return
        try:
            self._renew(keys=[_key(token)], args=[self.lease_ms, slot])
        except redis.RedisError as error:
            raise Unavailable("the socket registry (Redis) is unreachable") from error

    def release(self, token: str, slot: str) -> None:
        """Give the slot back (the socket closed). Best effort: a slot not released lapses."""
        if self.limit <= 0:
            return
        with contextlib.suppress(redis.RedisError):
            self.client.zrem(_key(token), slot)
