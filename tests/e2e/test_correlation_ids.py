"""X-Correlation-ID: a short token a client sends is kept on every event of its command (stored
metadata and audit log) and echoed back; anything else is replaced by a generated id, which the
response names, so a 60 KB header never becomes permanent, un-erasable data."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.e2e.support import Session, open_floor

pytestmark = pytest.mark.e2e

SAFE_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _stored_metadata(database_url: str, aggregate_id: str) -> list[dict]:
    """The metadata of every stored event of one aggregate, read from the event store's table."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT state FROM smartqueue_events WHERE originator_id = %s"
            " ORDER BY originator_version",
            (aggregate_id,),
        ).fetchall()
    assert rows, f"no stored events for {aggregate_id}"
    return [json.loads(bytes(state))["metadata"] for (state,) in rows]


def _audit_entries(session: Session, wanted: Callable[[list[dict]], bool]) -> list[dict]:
    """The first page of audit entries, once the projection has written what ``wanted`` needs."""
    deadline = time.monotonic() + 30
    while True:
        response = session.get("audit/")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if wanted(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def _audit_of(session: Session, aggregate_id: str) -> list[dict]:
    items = _audit_entries(
        session, lambda items: any(i["aggregate_id"] == aggregate_id for i in items)
    )
    return [item for item in items if item["aggregate_id"] == aggregate_id]


def test_a_60_kb_correlation_id_is_replaced_by_a_generated_one_that_the_response_names(
    admin: Session, projections: None, database_url: str
):
    floor = open_floor(admin)
    huge = "x" * 60_000

    issued = admin.post(
        "tickets/", {"queue_id": floor.queue["id"]}, headers={"X-Correlation-ID": huge}
    )

    assert issued.status_code == 201, issued.text[:500]
    used = issued.headers.get("x-correlation-id")
    assert used is not None, "the response does not say which correlation id was used"
    assert SAFE_TOKEN.match(used), used[:100]
    ticket_id = issued.json()["id"]
    for metadata in _stored_metadata(database_url, ticket_id):
        assert metadata["correlation_id"] == used
        assert all(len(value or "") <= 64 for value in metadata.values()), metadata
    [entry] = [e for e in _audit_of(admin, ticket_id) if e["event_type"] == "Ticket.Issued"]
    assert entry["correlation_id"] == used
    audit_page = admin.get("audit/")
    assert huge not in audit_page.text


@pytest.mark.parametrize(
    "unsafe",
    ["has space", "semi;colon", "ünïcode", "y" * 65, "<script>"],
    ids=["space", "semicolon", "non-ascii", "65-chars", "markup"],
)
def test_a_correlation_id_that_is_not_a_short_token_is_replaced(
    admin: Session, database_url: str, unsafe: str
):
    site = admin.post(
        "sites/",
        {"name": "Annex", "timezone": "Europe/Paris"},
        headers={"X-Correlation-ID": unsafe.encode()},
    )

    assert site.status_code == 201, site.text
    used = site.headers["x-correlation-id"]
    assert used != unsafe and SAFE_TOKEN.match(used), used
    [metadata] = _stored_metadata(database_url, site.json()["id"])
    assert metadata["correlation_id"] == used


def test_a_short_correlation_id_is_kept_end_to_end(
    admin: Session, projections: None, database_url: str
):
    floor = open_floor(admin)
    mine = "checkout-2026.12_06-A1"

    issued = admin.post(
        "tickets/", {"queue_id": floor.queue["id"]}, headers={"X-Correlation-ID": mine}
    )

    assert issued.status_code == 201, issued.text
    assert issued.headers["x-correlation-id"] == mine
    ticket_id = issued.json()["id"]
    assert [m["correlation_id"] for m in _stored_metadata(database_url, ticket_id)] == [mine]
    [entry] = [e for e in _audit_of(admin, ticket_id) if e["event_type"] == "Ticket.Issued"]
    assert entry["correlation_id"] == mine


def test_without_a_correlation_id_the_request_id_is_used_and_named(
    admin: Session, database_url: str
):
    site = admin.post("sites/", {"name": "Annex", "timezone": "Europe/Paris"})

    assert site.status_code == 201, site.text
    used = site.headers["x-correlation-id"]
    assert used == site.headers["x-request-id"]
    [metadata] = _stored_metadata(database_url, site.json()["id"])
    assert metadata["correlation_id"] == used
    assert metadata["causation_id"] == used


def test_an_oversized_request_id_is_not_stored_as_the_causation(admin: Session, database_url: str):
    long_request_id = "r" * 100  # the old rule let 128 characters through into every event

    site = admin.post(
        "sites/",
        {"name": "Annex", "timezone": "Europe/Paris"},
        headers={"X-Request-ID": long_request_id},
    )

    assert site.status_code == 201, site.text
    assert site.headers["x-request-id"] != long_request_id
    [metadata] = _stored_metadata(database_url, site.json()["id"])
    assert metadata["causation_id"] == site.headers["x-request-id"]
    assert all(len(value or "") <= 64 for value in metadata.values()), metadata
