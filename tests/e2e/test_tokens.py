"""Access tokens are signed JWTs verified strictly (RFC 8725); anything off is a 401 problem."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.support import API, Session, assert_problem, login

pytestmark = pytest.mark.e2e


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _sign(claims: dict[str, Any], key: bytes, **headers: Any) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers={"typ": "at+jwt", **headers})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.fixture
def server_key(e2e_home: Path, admin: Session) -> bytes:
    """The API process's signing key (generated under its SMARTQUEUE_HOME at first start)."""
    return (e2e_home / "jwt-secret").read_text().strip().encode()


def test_a_login_gives_a_short_lived_access_token_carrying_tenant_and_scopes(
    admin: Session,
) -> None:
    claims = _claims(admin.token)
    header = jwt.get_unverified_header(admin.token)

    assert header["alg"] == "HS256"
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == "smartqueue"
    assert claims["aud"] == "smartqueue-api"
    assert claims["sub"] == admin.user["id"]
    assert claims["tenant"] == admin.tenant.id
    assert claims["role"] == "admin"
    assert {"sites:manage", "users:manage", "tickets:call"} <= set(claims["scope"].split())
    assert "tenants:manage" not in claims["scope"].split()
    assert 0 < claims["exp"] - claims["iat"] <= 15 * 60


def test_a_well_signed_token_is_still_refused_when_any_required_check_fails(
    admin: Session, server_key: bytes
) -> None:
    good = _claims(admin.token)
    now = int(time.time())
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(good)}.",
        "wrong key": _sign(good, b"another-key-of-thirty-two-bytes!!"),
        "expired": _sign(
            {**good, "iat": now - 3600, "nbf": now - 3600, "exp": now - 60}, server_key
        ),
        "wrong audience": _sign({**good, "aud": "someone-else"}, server_key),
        "wrong issuer": _sign({**good, "iss": "evil"}, server_key),
        "no tenant": _sign({k: v for k, v in good.items() if k != "tenant"}, server_key),
        "no expiry": _sign({k: v for k, v in good.items() if k != "exp"}, server_key),
        "refresh as access": admin.refresh_token,
        "untyped": jwt.encode(good, server_key, algorithm="HS256"),
        "HS512": jwt.encode(good, server_key, algorithm="HS512", headers={"typ": "at+jwt"}),
        "tampered scopes": admin.token.split(".")[0]
        + "."
        + _b64({**good, "scope": "tenants:manage"})
        + "."
        + admin.token.split(".")[2],
    }
    # The control: the same claims, correctly signed, are accepted.
    assert (
        admin.client.get(
            admin.path("sites/"), headers={"Authorization": f"Bearer {_sign(good, server_key)}"}
        ).status_code
        == 200
    )

    for reason, token in forged.items():
        response = admin.client.get(
            admin.path("sites/"), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, reason
        assert_problem(response, 401, "unauthorized")


def test_a_refresh_token_renews_once_and_is_then_spent(http: httpx.Client, admin: Session) -> None:
    renewed = http.post(f"{API}/auth/refresh/", json={"refresh_token": admin.refresh_token})

    assert renewed.status_code == 200, renewed.text
    tokens = renewed.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["access_token"] != admin.token
    assert _claims(tokens["access_token"])["sid"] == _claims(admin.token)["sid"]
    fresh = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(admin.path("sites/"), headers=fresh).status_code == 200
    replay = http.post(f"{API}/auth/refresh/", json={"refresh_token": admin.refresh_token})
    assert_problem(replay, 401, "authentication_failed")
    assert_problem(
        http.post(f"{API}/auth/refresh/", json={"refresh_token": admin.token}),
        401,
        "authentication_failed",
    )


def test_logout_revokes_the_access_and_refresh_tokens_of_that_sign_in_only(
    http: httpx.Client, admin: Session
) -> None:
    other_device = login(http, admin.tenant, admin.tenant.admin_email)

    assert http.post(f"{API}/auth/logout/", headers=admin.headers).status_code == 204

    assert_problem(admin.get("sites/"), 401, "unauthorized")
    assert_problem(
        http.post(f"{API}/auth/refresh/", json={"refresh_token": admin.refresh_token}), 401
    )
    assert other_device.get("sites/").status_code == 200
