"""The event contract served beside the OpenAPI document, and readiness reporting Kafka."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port, running_api
from tests.e2e.support import API

pytestmark = pytest.mark.e2e

PINNED = Path(__file__).parents[2] / "docs" / "asyncapi.json"
READY_WITHIN = 60.0
"""Seconds a just-started API may take to report what it settles on (an idle machine: one
answer, well under a second)."""


def test_the_asyncapi_document_is_served_beside_the_openapi_one(http: httpx.Client):
    response = http.get("/schema/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document == json.loads(PINNED.read_text())
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["ticket"]["address"] == "smartqueue.ticket.v1"
    assert http.get("/schema/openapi.json").status_code == 200


def readiness(base_url: str, expected: Callable[[httpx.Response], bool]) -> httpx.Response:
    """The readiness answer, asked again until it is ``expected`` or :data:`READY_WITHIN`
    passed (then the last one). A readiness probe is polled: an API just started on a loaded
    machine (load 15-20 on two cores) may first answer slowly, or find PostgreSQL or the broker
    slow to take a connection, and say so; what it settles on is what this test checks."""
    deadline = time.monotonic() + READY_WITHIN
    while True:
        try:
            answer = httpx.get(f"{base_url}{API}/health/ready", timeout=READY_WITHIN / 2)
        except httpx.TimeoutException:
            assert time.monotonic() < deadline, f"no readiness answer within {READY_WITHIN} s"
            continue
        if expected(answer) or time.monotonic() >= deadline:
            return answer
        time.sleep(0.2)


def reports_the_broker(answer: httpx.Response) -> bool:
    if answer.status_code != 200:
        return False
    body = answer.json()
    return body["checks"].get("kafka") == "ok" and isinstance(body["relay_lag"], int)


def test_readiness_reports_the_broker_and_the_relay_lag_without_depending_on_them(
    database_url: str, redis_url: str, e2e_home: Path, kafka_bootstrap: str
):
    with running_api(
        database_url, redis_url, e2e_home, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap
    ) as base_url:
        ready = readiness(base_url, reports_the_broker)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["checks"]["kafka"] == "ok"
    assert isinstance(body["relay_lag"], int) and body["relay_lag"] >= 0

    nobody = f"127.0.0.1:{_free_port()}"
    with running_api(database_url, redis_url, e2e_home, KAFKA_BOOTSTRAP_SERVERS=nobody) as base_url:
        ready = readiness(base_url, lambda answer: answer.status_code == 200)
    # The API takes commands without Kafka: a broker outage is reported, not a reason to stop.
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["kafka"].startswith("unavailable")
    assert ready.json()["checks"]["postgresql"] == "ok"
