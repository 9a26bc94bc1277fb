"""Platform administrators manage tenants and nothing inside them; tenant staff cannot."""

from __future__ import annotations

import subprocess
import uuid
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
    completed = subprocess.run(
        [
            smartqueue_executable(),
            "create-platform-admin",
            "--email",
            email,
            "--password",
            PASSWORD,
        ],
        env=process_env(database_url, e2e_home, redis_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert f"login: {email} / {PASSWORD}" in completed.stdout
    platform = Tenant(id="", slug="", admin_email=email, admin_password=PASSWORD)
    return login(http, platform, email)


def test_a_platform_admin_creates_lists_and_reads_tenants(
    http: httpx.Client, operator: Session
) -> None:
    slug = f"clinic-{uuid.uuid4().hex[:8]}"
    body = {
        "name": "Clinique du Parc",
        "slug": slug,
        "admin_email": f"admin@{slug}.test",
        "admin_password": PASSWORD,
    }

    created = http.post(f"{API}/tenants/", json=body, headers=operator.headers)

    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["slug"] == slug
    assert http.get(f"{API}/tenants/{tenant['id']}/", headers=operator.headers).json() == tenant
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{API}/tenants/", params=params, headers=operator.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen.count(tenant["id"]) == 1
    assert len(seen) == len(set(seen))
    # The new tenant's admin can sign in and work in it.
    new_admin = login(
        http, Tenant(tenant["id"], slug, body["admin_email"], PASSWORD), body["admin_email"]
    )
    assert new_admin.get("sites/").status_code == 200
    duplicate = http.post(
        f"{API}/tenants/", json={**body, "admin_email": "x@y.test"}, headers=operator.headers
    )
    assert_problem(duplicate, 409)


def test_a_refused_tenant_creation_leaves_no_tenant_behind(
    http: httpx.Client, operator: Session, admin: Session
) -> None:
    slug = f"bank-{uuid.uuid4().hex[:8]}"
    taken_email = {"admin_email": admin.tenant.admin_email, "admin_password": PASSWORD}

    refused = http.post(
        f"{API}/tenants/", json={"name": "B", "slug": slug, **taken_email}, headers=operator.headers
    )

    assert_problem(refused, 409, "duplicate")  # the same answer as any taken email
    retry = {"name": "B", "slug": slug, "admin_email": f"a@{slug}.test", "admin_password": PASSWORD}
    assert http.post(f"{API}/tenants/", json=retry, headers=operator.headers).status_code == 201


def test_tenant_staff_cannot_administer_the_platform(http: httpx.Client, admin: Session) -> None:
    assert_problem(http.get(f"{API}/tenants/", headers=admin.headers), 403, "forbidden")
    assert_problem(
        http.get(f"{API}/tenants/{admin.tenant.id}/", headers=admin.headers), 403, "forbidden"
    )
    body = {"name": "X", "slug": "x-x", "admin_email": "a@x.test", "admin_password": PASSWORD}
    assert_problem(http.post(f"{API}/tenants/", json=body, headers=admin.headers), 403)


def test_a_platform_admin_sees_nothing_inside_a_tenant(operator: Session, admin: Session) -> None:
    for path in ("sites/", "queues/", "users/", "tickets/00000000-0000-0000-0000-000000000001/"):
        response = operator.client.get(
            f"{API}/tenants/{admin.tenant.slug}/{path}", headers=operator.headers
        )
        assert_problem(response, 404, "not_found")
