"""The general API limit: every request made with one access token counts against that token;
past the limit a real ``smartqueue api`` answers 429 with ``Retry-After`` and RateLimit headers."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.support import assert_problem, create_tenant, login

pytestmark = pytest.mark.e2e

PER_TOKEN = 5


def test_a_token_over_its_rate_gets_429_and_another_token_does_not(
    database_url: str, redis_url: str, e2e_home: Path
):
    tenant = create_tenant(database_url, e2e_home, redis_url)
    env = {"SMARTQUEUE_API_LIMIT_TOKEN": f"{PER_TOKEN}/minute"}
    with (
        running_api(database_url, redis_url, e2e_home, **env) as base_url,
        httpx.Client(base_url=base_url, timeout=30.0) as client,
    ):
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        for _ in range(PER_TOKEN):
            assert admin.get("sites/").status_code == 200

        refused = admin.get("sites/")
        assert_problem(refused, 429, "too_many_requests")
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        assert refused.headers["RateLimit-Policy"] == f'"token";q={PER_TOKEN};w=60'
        assert re.fullmatch(rf'"token";r=0;t={retry_after}', refused.headers["RateLimit"])
        # Commands too, and nothing is written.
        assert_problem(admin.post("sites/", {"name": "X", "timezone": "UTC"}), 429)

        fresh = login(client, tenant, tenant.admin_email, tenant.admin_password)
        sites = fresh.get("sites/")
        assert sites.status_code == 200, sites.text
        assert all(site["name"] != "X" for site in sites.json()["items"])
