"""Join-code digests in a real Redis: used once, wrong guesses counted to a lock, gone after
their time to live, and one winner when two joins race with the same code."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from domain.join_codes import MAX_ATTEMPTS
from infrastructure.redis.join_codes import PREFIX, RedisJoinCodeVault
from infrastructure.redis.server import connect_redis

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    opened = connect_redis(redis_url)
    yield opened
    opened.close()


@pytest.fixture
def vault(client: redis.Redis) -> RedisJoinCodeVault:
    return RedisJoinCodeVault(client)


def test_a_code_is_good_once_and_redis_keeps_only_digests(
    vault: RedisJoinCodeVault, client: redis.Redis
) -> None:
    key = uuid.uuid4().hex
    vault.store(key, "digest-of-code", 600)
    assert client.hgetall(PREFIX + key) == {"digest": "digest-of-code", "wrong": "0"}
    assert 590 <= client.ttl(PREFIX + key) <= 600

    assert vault.redeem(key, "digest-of-code", MAX_ATTEMPTS).outcome == "ok"
    assert vault.redeem(key, "digest-of-code", MAX_ATTEMPTS).outcome == "missing"
    assert not client.exists(PREFIX + key)


def test_five_wrong_guesses_lock_the_code_until_a_new_one_is_stored(
    vault: RedisJoinCodeVault,
) -> None:
    key = uuid.uuid4().hex
    vault.store(key, "right", 600)
    answers = [vault.redeem(key, "wrong", MAX_ATTEMPTS) for _ in range(MAX_ATTEMPTS)]
    assert [(a.outcome, a.attempts_left) for a in answers] == [
        ("wrong", 4),
        ("wrong", 3),
        ("wrong", 2),
        ("wrong", 1),
        ("wrong", 0),
    ]
    locked = vault.redeem(key, "right", MAX_ATTEMPTS)
    assert locked.outcome == "locked" and 0 < locked.ttl_seconds <= 600

    vault.store(key, "new", 600)
    assert vault.redeem(key, "new", MAX_ATTEMPTS).outcome == "ok"


def test_a_code_is_gone_after_its_time_to_live(vault: RedisJoinCodeVault) -> None:
    key = uuid.uuid4().hex
    vault.store(key, "right", 1)
    time.sleep(1.3)
    assert vault.redeem(key, "right", MAX_ATTEMPTS).outcome == "missing"


def test_two_joins_racing_with_one_code_have_one_winner(vault: RedisJoinCodeVault) -> None:
    for _ in range(20):
        key = uuid.uuid4().hex
        vault.store(key, "right", 600)
        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(
                pool.map(lambda name: vault.redeem(name, "right", 5).outcome, [key] * 4)
            )
        assert sorted(outcomes) == ["missing", "missing", "missing", "ok"]
