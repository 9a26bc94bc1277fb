"""Every list of the tenant's resources pages with ``?limit=&cursor=`` and loses nothing."""

from __future__ import annotations

import pytest

from tests.e2e.support import Session, assert_problem

# The lists of queues and agents are served by the directory read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

LISTS = ("sites/", "queues/services/", "queues/", "users/", "agents/")


def _five_of_each(admin: Session) -> dict[str, list[str]]:
    """Five sites, services, queues, users (the admin and four more) and so five agents."""
    sites = [admin.add_site(f"Site {n}", "UTC")["id"] for n in range(5)]
    services = [admin.add_service(code)["id"] for code in "ABCDE"]
    queues = [admin.open_queue(sites[0], [services[0]], name=f"Q{n}")["id"] for n in range(5)]
    users = [admin.user["id"], *(admin.add_user()["id"] for _ in range(4))]
    return {
        "sites/": sites,
        "queues/services/": services,
        "queues/": queues,
        "users/": users,
        "agents/": users,  # compared by user_id below
    }


def test_walking_each_list_two_at_a_time_returns_every_item_exactly_once(admin: Session) -> None:
    created = _five_of_each(admin)

    for relative in LISTS:
        pages, cursor = [], None
        while True:
            page = admin.page(relative, cursor, limit=2)
            pages.append(page)
            cursor = page["cursor"]
            if cursor is None:
                break
        key = "user_id" if relative == "agents/" else "id"
        seen = [item[key] for page in pages for item in page["items"]]

        assert [len(page["items"]) for page in pages] == [2, 2, 1], relative
        assert all(page["results_per_page"] == 2 for page in pages)
        assert seen == created[relative], relative  # oldest first, none twice, none missing
        assert [item[key] for item in admin.page(relative)["items"]] == created[relative]


def test_a_page_size_out_of_bounds_or_a_forged_cursor_is_a_problem(admin: Session) -> None:
    admin.add_site()

    for relative in LISTS:
        for limit in ("0", "201", "many"):
            response = admin.request("GET", relative, params={"limit": limit})
            assert "limit" in assert_problem(response, 400, "validation_failed")["detail"]
        forged = admin.request("GET", relative, params={"cursor": "bm90LWFuLWlk"})
        problem = assert_problem(forged, 422, "invalid_input")
        assert problem["detail"] == "cursor is not valid; pass the cursor of the previous page"
