"""Device presence with Redis unreachable: every operation raises the application's
``Unavailable`` (which the API answers with 503 and Retry-After), naming presence, never a raw
Redis error (a 500)."""

from __future__ import annotations

from uuid import uuid4

import pytest
import redis

from application.errors import Unavailable
from infrastructure.redis.presence import RedisPresence
from tests.e2e.conftest import _free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def presence() -> RedisPresence:
    # Nothing listens on this port: every call fails as if Redis had stopped.
    client = redis.Redis(host="127.0.0.1", port=_free_port(), socket_connect_timeout=1)
    return RedisPresence(client, ttl_seconds=60)


def _operations(presence: RedisPresence):
    tenant_id, device_id = uuid4(), uuid4()

    def transition() -> None:
        with presence.transition(device_id):
            pass

    return {
        "touch": lambda: presence.touch(tenant_id, device_id),
        "alive": lambda: presence.alive(device_id),
        "marked_online": lambda: presence.marked_online(device_id),
        "mark": lambda: presence.mark(tenant_id, device_id, online=True),
        "transition": transition,
        "expired": presence.expired,
        "seen": lambda: presence.seen(tenant_id, [device_id]),
        "forget": lambda: presence.forget(tenant_id, device_id),
    }


@pytest.mark.parametrize("operation", list(_operations(RedisPresence(redis.Redis(), 1))))
def test_every_presence_operation_reports_redis_unavailable_as_presence(presence, operation):
    with pytest.raises(Unavailable) as raised:
        _operations(presence)[operation]()
    assert "presence" in str(raised.value)
    assert isinstance(raised.value.__cause__, redis.RedisError)
