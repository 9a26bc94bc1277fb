"""The OpenAPI document declares the formats and enums the API enforces on query parameters (so a
schema-driven client generates values the API accepts), and the API still refuses the values
that break them: a value the schema rules out is a 400, a well-formed one the API cannot use
(an impossible date, an unknown status, a cursor it never issued) a 422 naming the parameter."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.support import API, Session, assert_problem, open_floor

pytestmark = pytest.mark.e2e

T = f"{API}/tenants/{{slug}}"
AGENT_STATUSES = ["available", "busy", "paused", "offline"]
TICKET_STATUSES = ["waiting", "called", "serving", "paused", "completed", "no_show", "cancelled"]
LISTS = (
    f"{API}/tenants",
    f"{T}/tickets",
    f"{T}/audit",
    f"{T}/customers",
    f"{T}/users",
    f"{T}/devices",
    f"{T}/sites",
    f"{T}/queues",
)


@pytest.fixture(scope="module")
def document(api_url: str) -> dict:
    response = httpx.get(f"{api_url}/schema/openapi.json", timeout=30.0)
    assert response.status_code == 200
    return response.json()


def _parameter(document: dict, path: str, name: str) -> dict[str, Any]:
    [found] = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found["schema"]


def test_days_and_moments_are_declared_with_their_formats(document: dict) -> None:
    for path in (f"{T}/queues/{{queue_id}}/stats", f"{T}/queues/stats"):
        assert _parameter(document, path, "day")["format"] == "date"
    for path in (f"{T}/tickets", f"{T}/audit"):
        for name in ("since", "until"):
            assert _parameter(document, path, name)["format"] == "date-time", (path, name)


def test_status_filters_are_declared_as_enums(document: dict) -> None:
    assert _parameter(document, f"{T}/agents/board", "status")["enum"] == AGENT_STATUSES
    assert _parameter(document, f"{T}/tickets", "status")["items"]["enum"] == TICKET_STATUSES


def test_a_phone_region_is_declared_as_one_of_the_supported_codes(document: dict) -> None:
    regions = _parameter(document, f"{T}/customers", "phone_region")["enum"]
    assert {"FR", "CA", "US"} <= set(regions) and all(len(code) == 2 for code in regions)


def test_opening_times_and_closed_dates_are_declared_in_the_site_bodies(document: dict) -> None:
    schemas = document["components"]["schemas"]
    interval = schemas["OpeningIntervalBody"]["properties"]
    assert interval["open"]["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9]$"
    assert interval["close"]["pattern"] == "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    for body in ("SiteCreate", "SitePatch"):
        assert schemas[body]["properties"]["closed_dates"]["items"]["format"] == "date", body


def test_every_cursor_is_an_opaque_string_with_its_pattern(document: dict) -> None:
    for path in LISTS:
        if path not in document["paths"]:
            continue
        schema = _parameter(document, path, "cursor")
        assert schema["pattern"] == "^[A-Za-z0-9_-]+$", path
        assert (schema["minLength"], schema["maxLength"]) == (1, 512), path


def test_the_declared_parameters_are_still_validated(admin: Session) -> None:
    floor = open_floor(admin)
    stats = f"queues/{floor.queue['id']}/stats/"
    assert admin.get(stats, params={"day": "2026-11-27"}).status_code == 200
    body = assert_problem(admin.get(stats, params={"day": "2026-02-30"}), 422)
    assert "day" in body["detail"]
    assert_problem(admin.get(stats, params={"day": "27/11/2026"}), 400)

    assert admin.get("tickets/", params={"since": "2026-11-27T09:00:00Z"}).status_code == 200
    body = assert_problem(admin.get("tickets/", params={"since": "2026-13-27T09:00:00Z"}), 422)
    assert "since" in body["detail"]
    assert_problem(admin.get("tickets/", params={"until": "yesterday"}), 400)
    body = assert_problem(admin.get("tickets/", params={"status": "lost"}), 422)
    assert "lost" in body["detail"]

    assert admin.get("agents/board/", params={"status": "busy"}).status_code == 200
    assert_problem(admin.get("agents/board/", params={"status": "asleep"}), 422)

    assert_problem(admin.get("customers/", params={"phone": "0612", "phone_region": "ZZ"}), 422)
    hours = {"opening_hours": {"monday": [{"open": "9h", "close": "17:00"}]}}
    assert_problem(admin.post("sites/", {"name": "S", "timezone": "UTC", **hours}), 422)
    dates = {"closed_dates": ["2026-02-30"]}
    assert_problem(admin.post("sites/", {"name": "S", "timezone": "UTC", **dates}), 422)

    # A cursor of the right alphabet that the API never issued, and one outside it.
    body = assert_problem(admin.get("tickets/", params={"cursor": "bm90LWFuLWlk"}), 422)
    assert "cursor" in body["detail"]
    assert_problem(admin.get("tickets/", params={"cursor": "%%%"}), 400)
