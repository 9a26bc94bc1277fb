"""Refresh tokens rotate: each is spent once, atomically, and a spent one presented again
(stolen, or replayed) revokes the whole sign-in session (RFC 6819 5.2.2.3, OAuth 2.0 Security
BCP 4.14)."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.e2e.support import API, Session, assert_problem, login

pytestmark = pytest.mark.e2e

RACERS = 8


def _refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post(f"{API}/auth/refresh/", json={"refresh_token": refresh_token})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_parallel_refreshes_of_one_token_let_exactly_one_through_and_then_revoke_the_session(
    api_url: str, admin: Session
) -> None:
    signed_in = login(admin.client, admin.tenant, admin.tenant.admin_email)
    other_sign_in = login(admin.client, admin.tenant, admin.tenant.admin_email)
    start = threading.Barrier(RACERS)
    answers: list[httpx.Response] = []

    def race() -> None:
        with httpx.Client(base_url=api_url, timeout=30.0) as client:
            start.wait(timeout=30)
            answers.append(_refresh(client, signed_in.refresh_token))

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == RACERS
    winners = [answer for answer in answers if answer.status_code == 200]
    assert len(winners) == 1, [answer.status_code for answer in answers]
    for answer in answers:
        if answer.status_code != 200:
            assert_problem(answer, 401, "authentication_failed")
    # Reuse was detected: the session is revoked, the winner's new tokens included.
    won = winners[0].json()
    client = admin.client
    assert_problem(client.get(admin.path("sites/"), headers=_bearer(won["access_token"])), 401)
    assert_problem(_refresh(client, won["refresh_token"]), 401, "authentication_failed")
    assert_problem(client.get(admin.path("sites/"), headers=signed_in.headers), 401)
    # Another sign-in of the same user is another session: untouched.
    assert other_sign_in.get("sites/").status_code == 200


def test_a_spent_refresh_token_presented_again_revokes_the_session_it_belongs_to(
    admin: Session,
) -> None:
    client = admin.client
    first = _refresh(client, admin.refresh_token)
    assert first.status_code == 200, first.text
    renewed = first.json()
    assert (
        client.get(admin.path("sites/"), headers=_bearer(renewed["access_token"])).status_code
        == 200
    )

    replay = _refresh(client, admin.refresh_token)

    assert_problem(replay, 401, "authentication_failed")
    assert_problem(client.get(admin.path("sites/"), headers=_bearer(renewed["access_token"])), 401)
    assert_problem(_refresh(client, renewed["refresh_token"]), 401, "authentication_failed")


def test_a_refresh_chain_keeps_working_while_no_token_is_reused(admin: Session) -> None:
    refresh_token = admin.refresh_token
    for _ in range(3):
        answer = _refresh(admin.client, refresh_token)
        assert answer.status_code == 200, answer.text
        refresh_token = answer.json()["refresh_token"]
        access = answer.json()["access_token"]
        assert admin.client.get(admin.path("sites/"), headers=_bearer(access)).status_code == 200
