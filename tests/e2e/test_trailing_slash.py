"""Paths answer the same with or without a trailing slash."""

from __future__ import annotations

import pytest

from tests.e2e.support import API, Session, open_floor

# GET tickets/{id}/ and GET queues/ are served by read models.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def test_tenant_routes_answer_with_and_without_a_trailing_slash(admin: Session) -> None:
    floor = open_floor(admin)
    admin.settle("directory")

    without = admin.get("queues")
    with_slash = admin.get("queues/")

    assert without.status_code == with_slash.status_code == 200
    assert without.json() == with_slash.json()
    # The list's items are the directory's (no appointment placement); the queue's own answer
    # adds the placement setting.
    listed = {key: val for key, val in floor.queue.items() if not key.startswith("appointment_")}
    assert with_slash.json()["items"] == [listed]
    assert admin.get(f"queues/{floor.queue['id']}").json() == floor.queue
    assert admin.get(f"queues/{floor.queue['id']}/").json() == floor.queue


def test_commands_are_accepted_with_and_without_a_trailing_slash(admin: Session) -> None:
    floor = open_floor(admin)

    plain = admin.post("tickets", {"queue_id": floor.queue["id"]})
    slashed = admin.post("tickets/", {"queue_id": floor.queue["id"]})

    assert plain.status_code == slashed.status_code == 201
    assert [plain.json()["number"], slashed.json()["number"]] == ["A-001", "A-002"]
    site = admin.post("sites", {"name": "No slash", "timezone": "UTC"})
    assert site.status_code == 201
    assert admin.post(f"tickets/{plain.json()['id']}/cancel", None).status_code == 200
    assert admin.ticket(plain.json()["id"])["status"] == "cancelled"


def test_auth_routes_answer_with_and_without_a_trailing_slash(admin: Session) -> None:
    for path in (f"{API}/auth/me", f"{API}/auth/me/"):
        response = admin.client.get(path, headers=admin.headers)
        assert response.status_code == 200
        assert response.json()["id"] == admin.user["id"]
    for path in (f"{API}/health", f"{API}/health/"):
        assert admin.client.get(path).json()["status"] == "ok"
