"""Sign-in attempt and request rate limits shared by every process, kept in Redis by the
``limits`` library.

Attempts are counted in a moving window per account (a digest of the email, so Redis holds no
address) and per client address. Unknown accounts are counted like known ones, so the limiter does
not reveal which emails exist.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import redis
from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from application.errors import TooManyAttempts, Unavailable


def _storage_uri(redis_url: str) -> str:
    # ``limits`` names Unix sockets ``redis+unix://``; redis-py calls them ``unix://``.
    return (
        "redis+unix://" + redis_url.removeprefix("unix://")
        if redis_url.startswith("unix://")
        else redis_url
    )


class RedisLoginLimiter:
    """Counts one attempt per call; refuses with the time until the window frees a slot."""

    def __init__(self, redis_url: str, per_account: str, per_address: str) -> None:
        self.limiter = MovingWindowRateLimiter(
            RedisStorage(_storage_uri(redis_url), key_prefix="sq:login")
        )
        self.per_account: RateLimitItem = parse(per_account)
        self.per_address: RateLimitItem = parse(per_address)

    def check(self, email: str, client_address: str | None) -> None:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        limits = [(self.per_account, "account", account)]
        if client_address:
            limits.append((self.per_address, "address", client_address))
        try:
            for item, kind, key in limits:
                if not self.limiter.hit(item, kind, key):
                    reset = self.limiter.get_window_stats(item, kind, key).reset_time
                    wait = math.ceil(reset - time.time())
                    raise TooManyAttempts(
                        f"too many sign-in attempts for this {kind}; retry in {max(1, wait)} s",
                        wait,
                    )
        except redis.RedisError as error:
            raise Unavailable("the rate limiter (Redis) is unreachable; retry shortly") from error


@dataclass(frozen=True)
class RateVerdict:
    """One request counted against one policy: whether it may pass, and the policy's state."""

    policy: str
    allowed: bool
    quota: int
    window_seconds: int
    remaining: int | None = None
    """Requests left in the window; read only for a refused request (0 then)."""
    reset_seconds: int | None = None
    """Seconds until the window has room again (at least 1); read only for a refused request."""


class RedisRequestLimiter:
    """Request rates per named policy and key (an access token, a device, a queue), counted by a
    sliding window in Redis so every API process shares them (two counters per key, whatever
    the rate)."""

    def __init__(self, redis_url: str, policies: Mapping[str, str]) -> None:
        self.limiter = SlidingWindowCounterRateLimiter(
            RedisStorage(_storage_uri(redis_url), key_prefix="sq:rate")
        )
        self.policies: dict[str, RateLimitItem] = {
            name: parse(rate) for name, rate in policies.items()
        }

    def hit(self, policy: str, key: str) -> RateVerdict:
        """Count one request of ``key`` under ``policy``; refused ones are not counted. One
        round trip to Redis for a request that passes, two for a refused one."""
        item = self.policies[policy]
        verdict = RateVerdict(policy, True, item.amount, item.get_expiry())
        try:
            if self.limiter.hit(item, policy, key):
                return verdict
            stats = self.limiter.get_window_stats(item, policy, key)
        except redis.RedisError as error:
            raise Unavailable("the rate limiter (Redis) is unreachable; retry shortly") from error
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return replace(verdict, allowed=False, remaining=stats.remaining, reset_seconds=wait)
