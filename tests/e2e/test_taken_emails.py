"""An email already taken, by someone of this tenant or of any other, answers the same 409: it
never names the email, the other tenant or where the address is used, so a tenant's staff
cannot be discovered from another tenant (or by a platform administrator guessing addresses)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import (
    API,
    PASSWORD,
    Session,
    Tenant,
    assert_problem,
    login,
    process_env,
    smartqueue_executable,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def operator(http: httpx.Client, database_url: str, redis_url: str, e2e_home: Path) -> Session:
    """A platform administrator made with ``smartqueue create-platform-admin``."""
    email = f"ops-{uuid.uuid4().hex[:8]}@platform.test"
    command = [smartqueue_executable(), "create-platform-admin", "--email", email]
    completed = subprocess.run(
        [*command, "--password", PASSWORD],
        env=process_env(database_url, e2e_home, redis_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return login(http, Tenant(id="", slug="", admin_email=email, admin_password=PASSWORD), email)


def _new_user(email: str) -> dict:
    return {"email": email, "password": PASSWORD, "name": "New Hire", "role": "agent"}


def _assert_discreet(body: dict, *secrets: str) -> None:
    text = str(body).lower()
    for secret in secrets:
        assert secret.lower() not in text, (secret, body)


def test_an_email_taken_in_another_tenant_answers_409_without_saying_where(
    admin: Session, new_tenant: Callable[[], Tenant]
):
    other = new_tenant()
    own_staff = admin.add_user("agent")["email"]

    elsewhere = admin.post("users/", _new_user(other.admin_email.upper()))
    here = admin.post("users/", _new_user(own_staff))

    taken_elsewhere = assert_problem(elsewhere, 409, "duplicate")
    taken_here = assert_problem(here, 409, "duplicate")
    _assert_discreet(taken_elsewhere, other.admin_email, other.slug, other.id)
    _assert_discreet(taken_here, own_staff)
    # Nothing tells the two apart: not the status, the code, the title or the detail.
    assert taken_elsewhere == taken_here


def test_a_new_tenant_whose_admin_email_is_taken_answers_the_same_409(
    http: httpx.Client,
    operator: Session,
    admin: Session,
):
    slug = f"bank-{uuid.uuid4().hex[:8]}"
    body = {
        "name": "B",
        "slug": slug,
        "admin_email": admin.tenant.admin_email,
        "admin_password": PASSWORD,
    }

    refused = http.post(f"{API}/tenants/", json=body, headers=operator.headers)

    problem = assert_problem(refused, 409, "duplicate")
    _assert_discreet(problem, admin.tenant.admin_email, admin.tenant.slug, admin.tenant.id)
    # The refusal left no tenant behind: the slug is free, and the tenant's own admin works.
    retry = {**body, "admin_email": f"a@{slug}.test"}
    assert http.post(f"{API}/tenants/", json=retry, headers=operator.headers).status_code == 201
    assert login(http, admin.tenant, admin.tenant.admin_email).user["email"]
