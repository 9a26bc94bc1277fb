"""Device presence in Redis: pings, last-seen times, and the claim on online/offline transitions.

Keys (``{d}`` a device id, ``{t}`` its tenant):

- ``sq:presence:alive:{d}`` is set by every ping and expires after the presence window: while it
  exists the device is online.
- ``sq:presence:seen:{t}`` is a hash of each device's last ping (epoch seconds), kept after the
  window so managers see when a device was last heard from.
- ``sq:presence:online`` is the set of devices last *recorded* online (an event was saved); the
  sweeper compares it with the alive keys to find devices that went silent.
- ``sq:presence:claim:{d}`` is a short ``SET NX`` claim held while one process records a
  transition, so two racing pings (or a ping and the sweeper) record it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import UUID, uuid4

import redis

from application.devices import Seen
from infrastructure.redis.calls import RedisCall

PREFIX = "sq:presence"
ONLINE = f"{PREFIX}:online"
CLAIM_SECONDS = 10  # far longer than recording one event; frees the claim of a crashed process

# Release the claim only if it is still ours (it may have expired and been taken by another).
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _alive(device_id: UUID) -> str:
    return f"{PREFIX}:alive:{device_id}"


def _seen(tenant_id: UUID) -> str:
    return f"{PREFIX}:seen:{tenant_id}"


class RedisPresence:
    """The ``Presence`` port on Redis."""

    def __init__(
        self, client: redis.Redis, ttl_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = client
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.clock = clock

    def _redis(self) -> RedisCall:
        """Redis unreachable becomes ``Unavailable`` (503), as for tokens."""
        return RedisCall(self.redis, "device presence")

    def touch(self, tenant_id: UUID, device_id: UUID) -> bool:
        with self._redis() as client:
            pipeline = client.pipeline()
            pipeline.set(_alive(device_id), "1", px=self.ttl_ms)
            pipeline.hset(_seen(tenant_id), str(device_id), repr(self.clock()))
            pipeline.sismember(ONLINE, str(device_id))
            *_, marked = pipeline.execute()
        return not marked

    def alive(self, device_id: UUID) -> bool:
        with self._redis() as client:
            return bool(client.exists(_alive(device_id)))

    def marked_online(self, device_id: UUID) -> bool:
        with self._redis() as client:
            return bool(client.sismember(ONLINE, str(device_id)))

    def mark(self, tenant_id: UUID, device_id: UUID, online: bool) -> None:
        with self._redis() as client:
            if online:
                client.sadd(ONLINE, str(device_id))
            else:
                client.srem(ONLINE, str(device_id))

    @contextmanager
    def transition(self, device_id: UUID) -> Iterator[bool]:
        key, token = f"{PREFIX}:claim:{device_id}", uuid4().hex
        with self._redis() as client:
            claimed = bool(client.set(key, token, nx=True, ex=CLAIM_SECONDS))
        try:
            yield claimed
        finally:
            if claimed:
                with self._redis() as client:
                    client.eval(RELEASE, 1, key, token)

    def expired(self) -> list[UUID]:
        with self._redis() as client:
            members = sorted(client.smembers(ONLINE))
            pipeline = client.pipeline()
            for member in members:
                pipeline.exists(_alive(_text(member)))
            alive = pipeline.execute()
        return [
            UUID(_text(member)) for member, live in zip(members, alive, strict=True) if not live
        ]

    def seen(self, tenant_id: UUID, device_ids: list[UUID]) -> dict[UUID, Seen]:
        if not device_ids:
            return {}
        with self._redis() as client:
            pipeline = client.pipeline()
            pipeline.hmget(_seen(tenant_id), [str(device_id) for device_id in device_ids])
            for device_id in device_ids:
                pipeline.exists(_alive(device_id))
            last_seen, *alive = pipeline.execute()
        return {
            device_id: Seen(
                online=bool(live),
                last_seen_at=datetime.fromtimestamp(float(stamp), UTC) if stamp else None,
            )
            for device_id, stamp, live in zip(device_ids, last_seen, alive, strict=True)
        }

    def forget(self, tenant_id: UUID, device_id: UUID) -> None:
        with self._redis() as client:
            pipeline = client.pipeline()
            pipeline.delete(_alive(device_id))
            pipeline.srem(ONLINE, str(device_id))
            pipeline.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
