"""``smartqueue create-tenant``, the command an operator runs: it prints the new tenant's id and
its admin's credentials, and that admin signs in to the running API. (The other end-to-end tests
make their tenants with the same application call in their own process: see ``support.py``.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.support import create_tenant_with_the_command, login

pytestmark = pytest.mark.e2e


def test_the_command_makes_a_tenant_whose_printed_admin_signs_in(
    http: httpx.Client, database_url: str, redis_url: str, e2e_home: Path
):
    tenant = create_tenant_with_the_command(database_url, e2e_home, redis_url)

    session = login(http, tenant, tenant.admin_email, tenant.admin_password)

    assert session.user["role"] == "admin"
    assert session.user["tenant_id"] == tenant.id
