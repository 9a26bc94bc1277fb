"""Sites (time zone, opening hours, closed dates) and services over HTTP: create, read, PATCH."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.support import Session, assert_problem

pytestmark = pytest.mark.e2e

OVERLAPPING = [{"open": "09:00", "close": "12:00"}, {"open": "11:00", "close": "13:00"}]
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def test_a_site_is_created_with_opening_hours_and_closed_dates(admin: Session) -> None:
    body = {
        "name": "Harbour",
        "timezone": "Europe/Lisbon",
        "opening_hours": {
            "monday": [{"open": "14:00", "close": "18:00"}, {"open": "09:00", "close": "12:30"}],
            "saturday": [{"open": "09:00", "close": "24:00"}],
        },
        "closed_dates": ["2025-12-25", "2025-01-01"],
    }

    site = admin.ok("POST", "sites/", body, status=201)

    assert list(site["opening_hours"]) == list(WEEK)
    assert site["opening_hours"]["monday"] == [
        {"open": "09:00", "close": "12:30"},
        {"open": "14:00", "close": "18:00"},
    ]
    assert site["opening_hours"]["sunday"] == []
    assert site["closed_dates"] == ["2025-01-01", "2025-12-25"]
    assert admin.ok("GET", f"sites/{site['id']}/") == site


def test_a_site_patch_changes_only_what_it_names(admin: Session) -> None:
    site = admin.add_site("Old name", "Europe/Paris")

    renamed = admin.ok("PATCH", f"sites/{site['id']}/", {"name": "New name"})
    hours = {"friday": [{"open": "08:00", "close": "16:00"}]}
    moved = admin.ok(
        "PATCH", f"sites/{site['id']}", {"timezone": "Asia/Tokyo", "opening_hours": hours}
    )

    assert renamed == {**site, "name": "New name"}
    assert moved["name"] == "New name"
    assert moved["timezone"] == "Asia/Tokyo"
    assert moved["opening_hours"]["friday"] == hours["friday"]
    assert moved["closed_dates"] == site["closed_dates"]
    assert admin.ok("PATCH", f"sites/{site['id']}/", {}) == moved
    assert admin.ok("GET", f"sites/{site['id']}/") == moved


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (
            {"opening_hours": {"monday": OVERLAPPING}},
            422,
            "opening_hours.monday: 09:00-12:00 overlaps 11:00-13:00",
        ),
        (
            {"opening_hours": {"tuesday": [{"open": "18:00", "close": "09:00"}]}},
            422,
            "opens at 18:00 but closes at 09:00",
        ),
        (
            {"opening_hours": {"tuesday": [{"open": "9h", "close": "17:00"}]}},
            422,
            "opening_hours.tuesday[0].open: '9h' is not a time",
        ),
        ({"opening_hours": {"someday": []}}, 400, "someday"),
        ({"closed_dates": ["2025-02-30"]}, 422, "'2025-02-30' is not a date"),
        ({"timezone": "Mars/Olympus_Mons"}, 422, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"name": ""}, 400, "name"),
        ({"name": "X", "opening": {}}, 400, "opening"),
    ],
)
def test_an_invalid_site_patch_is_a_problem_naming_what_is_wrong_and_changes_nothing(
    admin: Session, body: dict, status: int, detail: str
) -> None:
    site = admin.add_site("Steady", "Europe/Paris")

    problem = assert_problem(admin.patch(f"sites/{site['id']}/", body), status)

    assert detail in problem["detail"]
    assert admin.ok("GET", f"sites/{site['id']}/") == site


def test_a_patch_naming_a_server_owned_field_is_a_422(admin: Session) -> None:
    site = admin.add_site()
    service = admin.add_service("A")

    for path, field in (
        (f"sites/{site['id']}/", "id"),
        (f"sites/{site['id']}/", "tenant_id"),
        (f"queues/services/{service['id']}/", "id"),
    ):
        body = {"name": "Renamed", field: str(uuid.uuid4())}
        problem = assert_problem(admin.patch(path, body), 422, "server_owned_field")
        assert f"'{field}' is set by the server" in problem["detail"]
    assert admin.ok("GET", f"sites/{site['id']}/") == site


def test_patching_a_missing_site_or_service_is_a_404(admin: Session) -> None:
    missing = uuid.uuid4()

    assert_problem(admin.patch(f"sites/{missing}/", {"name": "X"}), 404, "not_found")
    assert_problem(admin.patch(f"queues/services/{missing}/", {"name": "X"}), 404, "not_found")


def test_a_service_patch_renames_and_retargets_it_but_never_recodes_it(admin: Session) -> None:
    service = admin.add_service("DEP", "Deposits")

    changed = admin.ok(
        "PATCH",
        f"queues/services/{service['id']}/",
        {"name": "Cash deposits", "target_wait_minutes": 7, "code": "DEP"},
    )
    recoded = admin.patch(f"queues/services/{service['id']}/", {"code": "CSH"})
    out_of_range = admin.patch(f"queues/services/{service['id']}/", {"target_wait_minutes": 0})

    assert changed == {**service, "name": "Cash deposits", "target_wait_minutes": 7}
    problem = assert_problem(recoded, 422, "invalid_input")
    assert "a service code cannot change (this one is 'DEP')" in problem["detail"]
    assert "target_wait_minutes" in assert_problem(out_of_range, 400)["detail"]
    assert admin.ok("PATCH", f"queues/services/{service['id']}/", {}) == changed


def test_only_a_site_manager_may_patch_a_site_and_only_a_service_manager_a_service(
    admin: Session,
) -> None:
    site = admin.add_site()
    service = admin.add_service("A")
    manager = admin.add_agent(role="manager")
    agent = admin.add_agent()

    forbidden = assert_problem(manager.patch(f"sites/{site['id']}/", {"name": "X"}), 403)
    assert "sites:manage" in forbidden["detail"]
    assert_problem(agent.patch(f"queues/services/{service['id']}/", {"name": "X"}), 403)
    assert manager.ok("PATCH", f"queues/services/{service['id']}/", {"name": "Y"})["name"] == "Y"
    assert admin.ok("GET", f"sites/{site['id']}/") == site
