"""The open-socket count of each token in a real Redis: a limit, release, renewal and the lapse
of a slot whose process died without giving it back."""

from __future__ import annotations

import time
import uuid

import pytest

from infrastructure.redis.server import connect_redis
from infrastructure.redis.socket_slots import RedisSocketSlots


@pytest.fixture
def token() -> str:
    return f"token-{uuid.uuid4().hex}"


def _slots(redis_url: str, limit: int, lease_seconds: float = 30.0) -> RedisSocketSlots:
    return RedisSocketSlots(connect_redis(redis_url), limit, lease_seconds)


def test_a_token_gets_no_more_slots_than_the_limit_until_one_is_released(
    redis_url: str, token: str
):
    slots = _slots(redis_url, limit=2)

    assert slots.acquire(token, "a") and slots.acquire(token, "b")
    assert not slots.acquire(token, "c")
    assert slots.acquire(f"other-{token}", "a")  # each token its own allowance

    slots.release(token, "a")
    assert slots.acquire(token, "c")
    assert not slots.acquire(token, "d")


def test_a_slot_never_released_lapses_with_its_lease_and_a_renewed_one_does_not(
    redis_url: str, token: str
):
    slots = _slots(redis_url, limit=2, lease_seconds=1.0)
    assert slots.acquire(token, "crashed") and slots.acquire(token, "alive")

    deadline = time.monotonic() + 20
    while not slots.acquire(token, "next"):
        slots.renew(token, "alive")
        assert time.monotonic() < deadline, "the crashed process's slot never lapsed"
        time.sleep(0.2)

    # "alive" was renewed all along: with "next" the token is at its limit again.
    assert not slots.acquire(token, "one-more")


def test_a_limit_of_zero_admits_every_socket(redis_url: str, token: str):
    slots = _slots(redis_url, limit=0)

    assert all(slots.acquire(token, str(n)) for n in range(100))
