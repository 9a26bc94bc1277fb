"""The event contract served beside the OpenAPI document, and readiness reporting Kafka."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port, running_api
from tests.e2e.support import API

pytestmark = pytest.mark.e2e

PINNED = Path(__file__).parents[2] / "docs" / "asyncapi.json"


def test_the_asyncapi_document_is_served_beside_the_openapi_one(http: httpx.Client):
    response = http.get("/schema/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document == json.loads(PINNED.read_text())
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["ticket"]["address"] == "smartqueue.ticket.v1"
    assert http.get("/schema/openapi.json").status_code == 200


def test_readiness_reports_the_broker_and_the_relay_lag_without_depending_on_them(
    database_url: str, redis_url: str, e2e_home: Path, kafka_bootstrap: str
):
    with running_api(
        database_url, redis_url, e2e_home, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap
    ) as base_url:
        ready = httpx.get(f"{base_url}{API}/health/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["checks"]["kafka"] == "ok"
    assert isinstance(body["relay_lag"], int) and body["relay_lag"] >= 0

    nobody = f"127.0.0.1:{_free_port()}"
    with running_api(database_url, redis_url, e2e_home, KAFKA_BOOTSTRAP_SERVERS=nobody) as base_url:
        ready = httpx.get(f"{base_url}{API}/health/ready", timeout=10)
    # The API takes commands without Kafka: a broker outage is reported, not a reason to stop.
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["kafka"].startswith("unavailable")
    assert ready.json()["checks"]["postgresql"] == "ok"
