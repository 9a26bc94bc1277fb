"""Feedback against a real ``smartqueue api``: a customer with the visit's feedback link gives
CSAT and NPS once; a second submit, a visit not completed and bad values are refused; erasing
the customer deletes the comment and keeps the scores."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from application.ports import TicketPass
from domain.feedback import feedback_id
from infrastructure.identity.ticket_passes import (
    FEEDBACK_LABEL,
    HmacTicketPasses,
    derive_pass_key,
)
from infrastructure.identity.tokens import load_signing_key
from tests.e2e.support import API, Session, assert_problem, login, open_floor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def feedback_token(home: Path, tenant_id: str, ticket_id: str) -> str:
    """The token of the link the feedback request message carries (the API's key is shared
    with local processes under SMARTQUEUE_HOME)."""
    passes = HmacTicketPasses(derive_pass_key(load_signing_key(None, home), FEEDBACK_LABEL))
    expires_at = datetime.now(UTC) + timedelta(days=7)
    return passes.issue(TicketPass(uuid.UUID(tenant_id), uuid.UUID(ticket_id), expires_at))


def served(admin: Session, queue_id: str, **fields) -> dict:
    """A ticket issued, called, served and completed over HTTP."""
    ticket = admin.issue(queue_id, **fields)
    agent = login(admin.client, admin.tenant, admin.add_user("agent", [queue_id])["email"])
    agent.set_status("available", counter="Desk 1")
    assert agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})["id"] == ticket["id"]
    assert agent.act(ticket["id"], "start").status_code == 200
    assert agent.act(ticket["id"], "close").json()["status"] == "completed"
    return ticket


def public(client: httpx.Client, method: str, token: str, json=None) -> httpx.Response:
    headers = {"X-Forwarded-For": f"10.9.{uuid.uuid4().bytes[0]}.{uuid.uuid4().bytes[1]}"}
    return client.request(method, f"{API}/public/feedback/{token}/", json=json, headers=headers)


def test_a_customer_gives_feedback_once_on_a_completed_visit(admin: Session, e2e_home: Path):
    floor = open_floor(admin)
    ticket = served(admin, floor.queue["id"])
    token = feedback_token(e2e_home, admin.tenant.id, ticket["id"])

    page = public(admin.client, "GET", token)
    assert page.status_code == 200, page.text
    assert page.json()["given"] is False
    assert page.json()["site_name"] == floor.site["name"]
    assert page.json()["ticket_number"] == ticket["number"]

    given = public(admin.client, "POST", token, {"csat": 4, "nps": 9, "tags": ["staff"]})
    assert given.status_code == 201, given.text
    assert given.json() == {"csat": 4, "nps": 9, "tags": ["staff"], "comment": None}
    assert public(admin.client, "GET", token).json()["given"] is True

    again = public(admin.client, "POST", token, {"csat": 1})
    assert_problem(again, 409, "feedback_given")


@pytest.mark.parametrize(
    "body",
    [{}, {"csat": 0}, {"csat": 6}, {"nps": 11}, {"nps": -1}, {"csat": 3, "tags": ["rude"]}],
)
def test_bad_values_are_refused_with_422_and_leave_the_visit_open(
    admin: Session, e2e_home: Path, body
):
    floor = open_floor(admin)
    ticket = served(admin, floor.queue["id"])
    token = feedback_token(e2e_home, admin.tenant.id, ticket["id"])

    assert_problem(public(admin.client, "POST", token, body), 422)
    assert public(admin.client, "POST", token, {"nps": 10}).status_code == 201


def test_a_waiting_ticket_or_a_forged_link_takes_no_feedback(admin: Session, e2e_home: Path):
    floor = open_floor(admin)
    waiting = admin.issue(floor.queue["id"])
    token = feedback_token(e2e_home, admin.tenant.id, waiting["id"])

    assert_problem(public(admin.client, "POST", token, {"csat": 5}), 409, "visit_not_completed")
    assert_problem(public(admin.client, "POST", token[:-3] + "AAA", {"csat": 5}), 404)
    assert_problem(public(admin.client, "GET", "not-a-token"), 404)


def test_erasing_the_customer_deletes_the_comment_and_keeps_the_scores(
    admin: Session, e2e_home: Path, owner_database_url: str
):
    floor = open_floor(admin)
    customer = admin.ok("POST", "customers/", {"name": "Zoé Feedback"}, status=201)
    ticket = served(admin, floor.queue["id"], customer_id=customer["id"])
    token = feedback_token(e2e_home, admin.tenant.id, ticket["id"])
    comment = f"Trop long {uuid.uuid4().hex}"
    given = public(admin.client, "POST", token, {"csat": 2, "nps": 3, "comment": comment})
    assert given.status_code == 201, given.text

    def comments() -> list[str]:
        with psycopg.connect(owner_database_url) as connection:
            rows = connection.execute(
                "SELECT comment FROM feedback_comments WHERE customer_id = %s",
                (customer["id"],),
            ).fetchall()
        return [row[0] for row in rows]

    assert comments() == [comment]
    staff_view = f"feedback/{feedback_id(uuid.UUID(ticket['id']))}/"
    assert admin.ok("GET", staff_view)["comment"] == comment
    assert admin.request("DELETE", f"customers/{customer['id']}/").status_code == 204

    assert comments() == []
    kept = admin.ok("GET", staff_view)
    assert (kept["csat"], kept["nps"], kept["comment"]) == (2, 3, None)
    with psycopg.connect(owner_database_url) as connection:
        stored = connection.execute(
            "SELECT count(*) FROM smartqueue_events WHERE originator_id = %s",
            (feedback_id(uuid.UUID(ticket["id"])),),
        ).fetchone()
    assert stored == (1,)
    assert_problem(public(admin.client, "POST", token, {"csat": 5}), 409, "feedback_given")


def test_staff_read_the_feedback_and_figures_that_match_hand_computed_values(
    admin: Session, e2e_home: Path
):
    floor = open_floor(admin)
    visits = [served(admin, floor.queue["id"]) for _ in range(4)]
    answers = [(5, 10, ["staff"]), (4, 9, []), (2, 3, ["waiting_time"])]  # the 4th: no answer
    for visit, (csat, nps, tags) in zip(visits, answers, strict=False):
        token = feedback_token(e2e_home, admin.tenant.id, visit["id"])
        body = {"csat": csat, "nps": nps, "tags": tags}
        assert public(admin.client, "POST", token, body).status_code == 201
    for projection in ("feedback", "tickets", "directory"):
        admin.settle(projection)

    listed = admin.page(f"feedback/?site_id={floor.site['id']}", limit=2)
    assert [item["csat"] for item in listed["items"]] == [2, 4]  # newest first
    rest = admin.page(f"feedback/?site_id={floor.site['id']}", cursor=listed["cursor"])
    assert [item["csat"] for item in rest["items"]] == [5] and rest["cursor"] is None
    assert "comment" not in listed["items"][0]

    # CSAT (5 + 4 + 2) / 3; NPS: 2 promoters (10, 9), 1 detractor (3) of 3 answers -> 33.3;
    # 3 answers for 4 completed visits.
    stats = admin.ok("GET", f"feedback/stats/?site_id={floor.site['id']}")
    (overall,) = stats["items"]
    assert overall["responses"] == 3 and overall["completed"] == 4
    assert overall["response_rate"] == pytest.approx(0.75)
    assert overall["csat_average"] == pytest.approx(11 / 3)
    assert overall["csat_distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert overall["nps"] == pytest.approx(100 / 3)

    by_agent = admin.ok("GET", f"feedback/stats/?site_id={floor.site['id']}&group_by=agent")
    rows = {row["key"]: row for row in by_agent["items"]}
    silent = admin.ticket(visits[3]["id"])["agent_id"]
    assert len(rows) == 4
    assert (rows[silent]["responses"], rows[silent]["completed"]) == (0, 1)
    assert rows[silent]["response_rate"] == 0.0 and rows[silent]["nps"] is None

    agent = admin.add_agent([floor.queue["id"]])
    assert_problem(agent.get("feedback/"), 403)
    assert_problem(admin.get("feedback/stats/?group_by=hour"), 400)


def test_racing_submits_for_one_visit_record_exactly_one(admin: Session, e2e_home: Path):
    floor = open_floor(admin)
    ticket = served(admin, floor.queue["id"])
    token = feedback_token(e2e_home, admin.tenant.id, ticket["id"])
    base_url = str(admin.client.base_url)

    def submit(csat: int) -> int:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            return public(client, "POST", token, {"csat": csat}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(submit, [1, 2, 3, 4, 5, 1, 2, 3]))

    assert sorted(statuses) == [201] + [409] * 7
    assert public(admin.client, "GET", token).json()["given"] is True
