"""Sign-in protection on the real stores: argon2id rehash, equal cost for unknown users, and
attempt limits counted in Redis across processes."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest
from litestar.testing import TestClient

from application.errors import AuthenticationFailed, TooManyAttempts
from infrastructure.container import Container, build_container
from infrastructure.identity.credentials import Argon2Hasher
from interfaces.http.app import create_app
from tests.conftest import settings_for
from tests.integration.conftest import TenantWorld

pytestmark = pytest.mark.integration


@pytest.fixture
def strict(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[Container]]:
    """Two containers (as two API processes would have) with low sign-in limits."""
    settings = settings_for(
        database_url,
        tmp_path,
        redis_url,
        SMARTQUEUE_LOGIN_LIMIT_ACCOUNT="3/minute",
        SMARTQUEUE_LOGIN_LIMIT_ADDRESS="5/minute",
    )
    containers = [build_container(settings), build_container(settings)]
    yield containers
    for container in containers:
        container.close()


def _user(world: TenantWorld) -> str:
    email = f"u-{uuid.uuid4().hex[:10]}@{world.slug}.example"
    world.container.identity.create_user(world.context, email, "password1", "User", "agent")
    return email


def _address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def test_attempts_per_account_are_limited_across_processes(
    strict: list[Container], world: TenantWorld
) -> None:
    email = _user(world)
    first, second = strict

    for container in (first, second, first):  # three wrong guesses spread over two processes
        with pytest.raises(AuthenticationFailed):
            container.identity.login(email, "wrong-guess", _address())

    with pytest.raises(TooManyAttempts) as refused:
        second.identity.login(email, "password1", _address())  # even the right password
    assert 1 <= refused.value.retry_after_seconds <= 60


def test_attempts_per_address_are_limited_whatever_the_account(
    strict: list[Container], world: TenantWorld
) -> None:
    address = _address()
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            strict[0].identity.login(f"{uuid.uuid4().hex}@nowhere.test", "guess-123", address)

    with pytest.raises(TooManyAttempts):
        strict[1].identity.login(_user(world), "password1", address)
    strict[1].identity.login(_user(world), "password1", _address())  # another address is fine


def test_a_limited_login_is_a_429_problem_with_retry_after(
    strict: list[Container], world: TenantWorld
) -> None:
    email = _user(world)
    app = create_app(strict[0].settings, strict[0])
    with TestClient(app) as client:
        statuses = [
            client.post("/api/v1/auth/", json={"email": email, "password": "nope-nope"}).status_code
            for _ in range(3)
        ]
        limited = client.post("/api/v1/auth/", json={"email": email, "password": "password1"})

    assert statuses == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["code"] == "too_many_attempts"
    assert "access_token" not in limited.json()


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_the_next_login(
    container: Container, world: TenantWorld
) -> None:
    email = _user(world)
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    credential = container.identity.credentials.find_by_email(email)
    assert credential is not None
    container.identity.credentials.replace_hash(
        credential.tenant_id, credential.user_id, weak.hash("password1")
    )

    container.identity.login(email, "password1", _address())

    upgraded = container.identity.credentials.find_by_email(email)
    assert upgraded is not None
    assert upgraded.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not Argon2Hasher().needs_rehash(upgraded.password_hash)


def test_an_unknown_email_costs_about_as_much_as_a_wrong_password(
    container: Container, world: TenantWorld
) -> None:
    email = _user(world)

    def seconds(login_email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            container.identity.login(login_email, "wrong-password", _address())
        return time.perf_counter() - started

    # Interleaved, so that a busy machine slows both alike.
    nowhere = f"{uuid.uuid4().hex}@nowhere.test"
    pairs = [(seconds(email), seconds(nowhere)) for _ in range(9)]
    known = statistics.median(pair[0] for pair in pairs)
    unknown = statistics.median(pair[1] for pair in pairs)

    # Both pay one argon2id verification (tens of ms); skipping it would make unknown ~100x cheaper.
    assert unknown > 0.5 * known, (known, unknown)
    assert known > 0.005


def test_refresh_reads_the_user_again_and_refuses_a_deactivated_one(
    container: Container, world: TenantWorld
) -> None:
    email = _user(world)
    tokens, user = container.identity.login(email, "password1", _address())

    container.identity.revoke_user_tokens(user.id, active=False, tenant_id=user.tenant_id)

    assert container.identity.authenticate(tokens.access_token) is None
    with pytest.raises(AuthenticationFailed):
        container.identity.refresh(tokens.refresh_token)
    with pytest.raises(AuthenticationFailed):
        container.identity.login(email, "password1", _address())
