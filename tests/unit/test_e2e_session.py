"""The end-to-end tests' :class:`~tests.e2e.support.Session` keeps a query string written into
a route's path: httpx alone replaces it with the ``params`` of the request (a cursor, a limit),
so a filtered list read every item of the tenant."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import Session, Tenant

ITEMS = {"a": ["first", "second", "third"], "b": ["other"]}


def listing(request: httpx.Request) -> httpx.Response:
    """A list route paged one item at a time, filtered by ``kind`` when given."""
    items = ITEMS.get(request.url.params.get("kind", ""), [*ITEMS["a"], *ITEMS["b"]])
    at = int(request.url.params.get("cursor", "0"))
    more = at + 1 < len(items)
    body = {
        "items": items[at : at + 1],
        "results_per_page": 1,
        "cursor": str(at + 1) if more else None,
    }
    return httpx.Response(200, json=body)


@pytest.fixture
def session() -> Session:
    client = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(listing))
    return Session(client, Tenant("id", "acme", "admin@acme.test", "pw"), "token", {})


def test_every_page_of_a_list_keeps_the_query_written_into_the_path(session: Session):
    assert session.list("things/?kind=a") == ITEMS["a"]
    assert session.list("things/?kind=b", limit=1) == ITEMS["b"]


def test_params_add_to_the_query_written_into_the_path_and_may_not_repeat_it(session: Session):
    sent = session.get("things/?kind=a", params={"cursor": "2"})
    assert sent.request.url.params.multi_items() == [("kind", "a"), ("cursor", "2")]
    assert sent.json()["items"] == ["third"]
    with pytest.raises(ValueError, match="kind"):
        session.get("things/?kind=a", params={"kind": "b"})
