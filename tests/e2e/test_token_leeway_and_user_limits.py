"""Small hardening of tokens and user bodies: a token minted by an API process whose clock runs
a few seconds ahead is accepted (a bounded leeway on ``iat``/``nbf``), and the lists a user body
may carry are bounded, refused with a clear problem and declared in the OpenAPI document."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from tests.e2e.support import PASSWORD, Session, assert_problem

pytestmark = pytest.mark.e2e

DEFAULT_LEEWAY_SECONDS = 30
MAX_QUEUE_IDS = 50


def _signed_ahead(admin: Session, key: bytes, seconds: int) -> str:
    claims = jwt.decode(admin.token, options={"verify_signature": False})
    now = int(time.time()) + seconds
    minted = {**claims, "iat": now, "nbf": now, "exp": now + 900}
    return jwt.encode(minted, key, algorithm="HS256", headers={"typ": "at+jwt"})


def test_a_token_minted_by_a_clock_a_little_ahead_is_accepted_and_one_far_ahead_is_not(
    admin: Session, e2e_home: Path
) -> None:
    key = (e2e_home / "jwt-secret").read_text().strip().encode()
    skewed = _signed_ahead(admin, key, DEFAULT_LEEWAY_SECONDS // 2)
    far = _signed_ahead(admin, key, DEFAULT_LEEWAY_SECONDS * 4)

    accepted = admin.client.get(admin.path("sites/"), headers={"Authorization": f"Bearer {skewed}"})
    refused = admin.client.get(admin.path("sites/"), headers={"Authorization": f"Bearer {far}"})

    assert accepted.status_code == 200, accepted.text
    assert_problem(refused, 401, "unauthorized")


def test_a_user_with_too_many_queues_is_refused_naming_the_limit_and_nothing_is_written(
    admin: Session,
) -> None:
    body = {
        "email": f"many-{uuid.uuid4().hex[:8]}@{admin.tenant.slug}.test",
        "password": PASSWORD,
        "name": "Many queues",
        "role": "agent",
        "queue_ids": [str(uuid.uuid4()) for _ in range(MAX_QUEUE_IDS + 1)],
    }
    before = admin.list("users/")

    problem = assert_problem(admin.post("users/", body), 400, "validation_failed")

    assert f"length <= {MAX_QUEUE_IDS}" in problem["detail"]
    assert "queue_ids" in problem["detail"]
    assert admin.list("users/") == before


def test_the_lists_of_user_bodies_declare_their_bounds(api_url: str) -> None:
    document = httpx.get(f"{api_url}/schema/openapi.json", timeout=30.0).json()
    schemas = document["components"]["schemas"]

    def bound(schema_name: str, field: str) -> int | None:
        # An optional field's bound sits beside its ``oneOf``; a required one's on the array.
        prop = schemas[schema_name]["properties"][field]
        options = [prop, *(prop.get("oneOf") or prop.get("anyOf") or [])]
        return next((o["maxItems"] for o in options if "maxItems" in o), None)

    assert bound("UserCreate", "queue_ids") == MAX_QUEUE_IDS
    assert bound("UserPatch", "scopes") is not None
