"""The public API against a real ``smartqueue api`` and projections: a customer joins a site's
service with no token, follows the ticket by its capability token only, asks for more time
once, cancels; staff calls it; abuse is limited per address, per phone and by the queue's cap.

Client addresses come from ``X-Forwarded-For`` (the test's API trusts 127.0.0.1 as a proxy), so
each test has addresses of its own in the session's shared Redis counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from interfaces.http.join_qr import qr_matrix
from tests.e2e.conftest import running_api
from tests.e2e.support import (
    API,
    ReadModels,
    Session,
    Tenant,
    assert_problem,
    create_tenant,
    login,
    open_floor,
)
from tests.unit.test_join_qr import dark_modules

pytestmark = pytest.mark.e2e

JOINS_PER_ADDRESS, JOINS_PER_PHONE, PLACES, CAP = 3, 2, 2, 5
PUBLIC_FIELDS = {
    "number",
    "status",
    "position",
    "eta_seconds",
    "counter",
    "queue_name",
    "waiting",
    "more_time_used",
    "more_time_places",
}


@pytest.fixture(scope="module")
def public_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    env = {
        "SMARTQUEUE_TRUSTED_PROXIES": "127.0.0.1",
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS": f"{JOINS_PER_ADDRESS}/minute",
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE": f"{JOINS_PER_PHONE}/minute",
        "SMARTQUEUE_MORE_TIME_PLACES": str(PLACES),
        "SMARTQUEUE_QUEUE_MAX_WAITING": str(CAP),
    }
    with running_api(database_url, redis_url, e2e_home, **env) as base_url:
        yield base_url


@pytest.fixture
def admin(
    public_api: str, database_url: str, redis_url: str, e2e_home: Path, projections: ReadModels
) -> Iterator[Session]:
    tenant: Tenant = create_tenant(database_url, e2e_home, redis_url)
    with httpx.Client(base_url=public_api, timeout=30.0) as client:
        yield login(client, tenant, tenant.admin_email, tenant.admin_password)


def an_address() -> str:
    """A client address no other test uses."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


class Customer:
    """Someone with a phone and a browser: no token, one address."""

    def __init__(self, client: httpx.Client, address: str | None = None) -> None:
        self.client = client
        self.address = address or an_address()

    def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return self.client.request(
            method, f"{API}/public/{path}", json=json, headers={"X-Forwarded-For": self.address}
        )

    def site(self, slug: str, site_id: str) -> httpx.Response:
        return self.request("GET", f"{slug}/sites/{site_id}/")

    def join(self, slug: str, site_id: str, service_id: str, **fields: Any) -> httpx.Response:
        body = {"service_id": service_id, **fields}
        return self.request("POST", f"{slug}/sites/{site_id}/join/", body)

    def joined(self, slug: str, site_id: str, service_id: str, **fields: Any) -> dict:
        response = self.join(slug, site_id, service_id, **fields)
        assert response.status_code == 201, response.text
        return response.json()

    def ticket(self, token: str) -> httpx.Response:
        return self.request("GET", f"tickets/{token}/")

    def act(self, token: str, action: str) -> httpx.Response:
        return self.request("POST", f"tickets/{token}/{action}/")


def floor_of(admin: Session) -> tuple[str, str, str, str]:
    """slug, site id, service id, queue id of a fresh floor, once the directory lists it."""
    floor = open_floor(admin)
    admin.settle("directory")
    return admin.tenant.slug, floor.site["id"], floor.service["id"], floor.queue["id"]


def test_a_customer_joins_from_the_join_page_and_follows_the_ticket_by_its_token(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    customer = Customer(admin.client)

    site = customer.site(slug, site_id)
    assert site.status_code == 200, site.text
    assert site.json() == {
        "id": site_id,
        "name": "Head office",
        "open": True,
        "services": [
            {"id": service_id, "name": admin.ok("GET", f"queues/services/{service_id}/")["name"]}
        ],
        "languages": ["fr", "en"],
    }

    joined = customer.joined(
        slug, site_id, service_id, name="Ada", phone="+33 6 12 34 56 78", language="fr"
    )
    assert set(joined) == {"ticket", "token", "url"}
    assert joined["url"] == f"/t/{joined['token']}"
    assert joined["ticket"]["number"] == "A-001"
    assert (joined["ticket"]["status"], joined["ticket"]["position"]) == ("waiting", 1)

    mine = customer.ticket(joined["token"])
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert set(body) == PUBLIC_FIELDS  # nothing personal: no name, phone, ids
    assert "Ada" not in mine.text and "612345678" not in mine.text
    assert (body["number"], body["status"], body["position"]) == ("A-001", "waiting", 1)
    assert (body["queue_name"], body["waiting"], body["more_time_used"]) == ("Queue A", 1, False)

    staff_view = admin.ticket(_ticket_id(admin, queue_id, "A-001"))
    assert staff_view["channel"] == "web"
    customer_record = admin.ok("GET", f"customers/{staff_view['customer_id']}/")
    assert (customer_record["name"], customer_record["phone"]) == ("Ada", "+33612345678")


def test_an_anonymous_join_makes_no_customer_profile(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    Customer(admin.client).joined(slug, site_id, service_id)

    assert admin.ticket(_ticket_id(admin, queue_id, "A-001"))["customer_id"] is None


def test_the_customers_app_registers_its_push_token_through_the_ticket_link(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    customer = Customer(admin.client)
    mine = customer.joined(slug, site_id, service_id, name="Ada", phone="+33 6 12 34 56 78")
    anonymous = customer.joined(slug, site_id, service_id)["token"]
    device = "fcm-registration:APA91b_device-1"

    registered = customer.request("PUT", f"tickets/{mine['token']}/push/", {"device_token": device})
    assert (registered.status_code, registered.content) == (204, b"")
    record = admin.ok(
        "GET", f"customers/{admin.ticket(_ticket_id(admin, queue_id, 'A-001'))['customer_id']}/"
    )
    assert (record["push_token"], record["preferences"]["channels"]) == (device, ["sms", "push"])
    assert device not in customer.ticket(mine["token"]).text

    assert_problem(
        customer.request("PUT", f"tickets/{anonymous}/push/", {"device_token": device}),
        409,
        "no_customer",
    )
    assert_problem(
        customer.request("PUT", f"tickets/{mine['token']}/push/", {"device_token": "a b"}), 422
    )
    assert_problem(customer.request("PUT", f"tickets/{mine['token']}/push/", {}), 400)
    assert_problem(
        customer.request("PUT", "tickets/not-a-link/push/", {"device_token": device}), 404
    )

    withdrawn = customer.request("DELETE", f"tickets/{mine['token']}/push/")
    assert withdrawn.status_code == 204, withdrawn.text
    record = admin.ok("GET", f"customers/{record['id']}/")
    assert (record["push_token"], record["preferences"]["channels"]) == (None, ["sms"])


def test_a_called_ticket_shows_its_counter_and_can_no_longer_be_cancelled(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    customer = Customer(admin.client)
    mine = customer.joined(slug, site_id, service_id)["token"]
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="4")
    assert agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})["number"] == "A-001"

    called = customer.ticket(mine).json()
    assert (called["status"], called["counter"], called["position"]) == ("called", "4", None)
    assert_problem(customer.act(mine, "cancel"), 409)


def test_a_waiting_ticket_is_cancelled_by_its_customer(admin):
    slug, site_id, service_id, _ = floor_of(admin)
    customer = Customer(admin.client)
    mine = customer.joined(slug, site_id, service_id)["token"]

    cancelled = customer.act(mine, "cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert customer.ticket(mine).json()["status"] == "cancelled"
    assert_problem(customer.act(mine, "cancel"), 409)


def test_more_time_moves_the_ticket_back_once_and_the_read_model_agrees(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    tokens = [Customer(admin.client).joined(slug, site_id, service_id)["token"] for _ in range(4)]
    customer = Customer(admin.client)

    moved = customer.act(tokens[0], "more-time")
    assert moved.status_code == 200, moved.text
    assert (moved.json()["position"], moved.json()["more_time_used"]) == (1 + PLACES, True)
    assert_problem(customer.act(tokens[0], "more-time"), 409, "more_time_used")

    positions = [customer.ticket(token).json()["position"] for token in tokens]
    assert positions == [3, 1, 2, 4]
    staff = admin.ticket(_ticket_id(admin, queue_id, "A-001"))  # the tickets read model
    assert staff["position"] == 3


def test_a_bad_forged_or_foreign_token_is_404_without_saying_which(admin):
    slug, site_id, service_id, _ = floor_of(admin)
    customer = Customer(admin.client)
    token = customer.joined(slug, site_id, service_id)["token"]
    forged = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]

    answers = [customer.ticket(bad) for bad in ("nonsense", forged, "A" * len(token), token + "A")]
    answers.append(customer.act(forged, "cancel"))
    answers.append(customer.act(forged, "more-time"))
    details = {assert_problem(answer, 404, "not_found")["detail"] for answer in answers}
    assert len(details) == 1
    assert customer.ticket(token).status_code == 200


def test_joins_are_limited_per_address_and_per_phone(admin):
    slug, site_id, service_id, _ = floor_of(admin)
    flooding = Customer(admin.client)
    for _ in range(JOINS_PER_ADDRESS):
        flooding.joined(slug, site_id, service_id)
    refused = flooding.join(slug, site_id, service_id)
    assert_problem(refused, 429, "too_many_requests")
    assert refused.headers["RateLimit-Policy"].startswith('"public_join_address"')

    phone = f"+3361234{uuid.uuid4().int % 10**4:04d}"  # a valid French mobile number
    for _ in range(JOINS_PER_PHONE):
        Customer(admin.client).joined(slug, site_id, service_id, phone=phone)
    spaced = phone[:3] + " " + phone[3:]  # the same number, written otherwise
    refused = Customer(admin.client).join(slug, site_id, service_id, phone=spaced)
    assert_problem(refused, 429, "too_many_requests")
    assert refused.headers["RateLimit-Policy"].startswith('"public_join_phone"')


def test_a_bad_phone_or_language_is_refused_and_issues_nothing(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    customer = Customer(admin.client)
    assert_problem(customer.join(slug, site_id, service_id, phone="12"), 422)
    assert_problem(customer.join(slug, site_id, service_id, language="de"), 400)
    assert admin.ok("GET", f"queues/{queue_id}/")["waiting"] == 0


def test_the_queues_cap_applies_to_remote_joins(admin):
    slug, site_id, service_id, _ = floor_of(admin)
    for _ in range(CAP):
        Customer(admin.client).joined(slug, site_id, service_id)
    assert_problem(Customer(admin.client).join(slug, site_id, service_id), 409, "queue_full")


def test_a_closed_site_shows_closed_and_takes_no_remote_tickets(admin):
    slug, site_id, service_id, queue_id = floor_of(admin)
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    admin.ok("PATCH", f"sites/{site_id}/", {"closed_dates": [today.isoformat()]})
    customer = Customer(admin.client)
    # Hours never set: it opens again at the next local midnight.
    tomorrow = datetime.combine(today + timedelta(days=1), time(0), ZoneInfo("Europe/Paris"))

    site = customer.site(slug, site_id).json()
    assert site["open"] is False
    assert datetime.fromisoformat(site["opens_at"]) == tomorrow
    refused = assert_problem(customer.join(slug, site_id, service_id), 409, "site_closed")
    assert datetime.fromisoformat(refused["opens_at"]) == tomorrow
    assert admin.ok("GET", f"queues/{queue_id}/")["waiting"] == 0


def test_another_tenants_site_or_a_paused_queue_is_not_offered(admin, new_tenant):
    slug, site_id, service_id, queue_id = floor_of(admin)
    other = new_tenant()
    customer = Customer(admin.client)
    assert_problem(customer.site(other.slug, site_id), 404)
    assert_problem(customer.join(other.slug, site_id, service_id), 404)

    admin.ok("POST", f"queues/{queue_id}/pause/")
    admin.settle("directory")
    assert customer.site(slug, site_id).json()["services"] == []
    assert_problem(customer.join(slug, site_id, service_id), 404)


def _ticket_id(admin: Session, queue_id: str, number: str) -> str:
    admin.settle()
    listed = admin.list(f"tickets/?queue_id={queue_id}")
    return next(ticket["id"] for ticket in listed if ticket["number"] == number)


def test_staff_print_a_qr_code_of_the_join_page(admin, new_tenant):
    slug, site_id, _, _ = floor_of(admin)
    response = admin.get(f"sites/{site_id}/join-qr.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    url = f"{str(admin.client.base_url).rstrip('/')}/join/{slug}/{site_id}"
    assert response.headers["x-join-url"] == url
    expected = {
        (row, column)
        for row, modules in enumerate(qr_matrix(url))
        for column, dark in enumerate(modules)
        if dark
    }
    assert dark_modules(response.content) == expected
    assert admin.client.get(f"/join/{slug}/{site_id}").status_code == 200  # the page it opens

    other = login(admin.client, (tenant := new_tenant()), tenant.admin_email)
    assert_problem(other.get(f"sites/{site_id}/join-qr.svg"), 404)
    anonymous = admin.client.get(f"{API}/tenants/{slug}/sites/{site_id}/join-qr.svg")
    assert_problem(anonymous, 401)
