"""Calling Redis from a request: an unreachable Redis becomes a named 503, never a 500."""

from __future__ import annotations

import redis

from application.errors import Unavailable


class RedisCall:
    """Turns an unreachable Redis into a 503, never a 500 and never a token accepted unchecked."""

    def __init__(self, client: redis.Redis, store: str = "the token store") -> None:
        self.client = client
        self.store = store  # named in the 503's detail

    def __enter__(self) -> redis.Redis:
        return self.client

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if isinstance(error, redis.RedisError):
            raise Unavailable(f"{self.store} (Redis) is unreachable; retry shortly") from error
