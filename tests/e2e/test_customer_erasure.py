"""The erasure proof: after ``DELETE``, no table of the database holds any trace of the
customer's personal data, while their tickets, waits and queue counts are exactly as before."""

from __future__ import annotations

import secrets
import uuid

import psycopg
import pytest
from psycopg import sql

from tests.e2e.support import Session, assert_problem, open_floor

# GET tickets/{id}/ is served by the tickets read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


def traces(database_url: str, needles: list[str]) -> dict[str, list[str]]:
    """For each needle, the ``schema.table`` (and ``.column`` for bytea) where it occurs.

    Every table and view of every non-system schema is scanned: each row cast to text, and each
    bytea column (event and snapshot ``state`` is JSON stored as bytea) searched for the needle's
    UTF-8 bytes.
    """
    found: dict[str, list[str]] = {needle: [] for needle in needles}
    with psycopg.connect(database_url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema <> ALL(%s) AND table_schema NOT LIKE 'pg\\_%%'",
            (list(SYSTEM_SCHEMAS),),
        ).fetchall()
        assert len(tables) >= 3, tables  # events, credentials, customer profiles at least
        for schema, table in tables:
            name = sql.Identifier(schema, table)
            bytea_columns = [
                column
                for (column,) in connection.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = %s AND data_type = 'bytea'",
                    (schema, table),
                ).fetchall()
            ]
            for needle in needles:
                as_text = sql.SQL("SELECT count(*) FROM {} t WHERE position(%s in t::text) > 0")
                (count,) = connection.execute(as_text.format(name), (needle,)).fetchone()
                if count:
                    found[needle].append(f"{schema}.{table}")
                for column in bytea_columns:
                    as_bytes = sql.SQL("SELECT count(*) FROM {} WHERE position(%s in {}) > 0")
                    (count,) = connection.execute(
                        as_bytes.format(name, sql.Identifier(column)), (needle.encode(),)
                    ).fetchone()
                    if count:
                        found[needle].append(f"{schema}.{table}.{column}")
    return found


def _served_ticket(admin: Session, agent: Session, queue_id: str, customer_id: str) -> str:
    ticket = admin.issue(queue_id, customer_id=customer_id)
    called = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
    assert called["id"] == ticket["id"]
    assert agent.act(ticket["id"], "start").status_code == 200
    assert agent.act(ticket["id"], "close").json()["status"] == "completed"
    return ticket["id"]


def test_erasure_leaves_no_trace_in_any_table_and_keeps_the_customers_tickets(
    admin: Session, owner_database_url: str
) -> None:
    token = secrets.token_hex(5)
    digits = f"{int(token, 16) % 10**7:07d}"
    name = f"Zelda Quorra{token}"
    email = f"zelda.{token}@erasure.example"
    card = f"CARD-{token.upper()}"
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="1")
    customer = admin.ok(
        "POST",
        "customers/",
        {
            "name": name,
            "phone": f"06 1{digits[0]} {digits[1:3]} {digits[3:5]} {digits[5:]}",
            "phone_region": "FR",
            "email": email,
            "metadata": {"card": card},
            "preferences": {"channels": ["sms", "email"], "language": "fr"},
        },
        status=201,
    )
    e164 = f"+3361{digits}"
    assert customer["phone"] == e164
    admin.ok("PATCH", f"customers/{customer['id']}/", {"name": name + " Jr"})
    served = _served_ticket(admin, agent, floor.queue["id"], customer["id"])
    waiting = admin.issue(floor.queue["id"], customer_id=customer["id"])["id"]
    admin.issue(floor.queue["id"])  # someone else, behind them
    tickets_before = {t: admin.ticket(t) for t in (served, waiting)}
    queue_before = admin.ok("GET", f"queues/{floor.queue['id']}/")
    # Every form the data could be stored in: as given, lower-cased, E.164, the national form
    # and the national significant number (what any other formatting would contain).
    personal = sorted(
        {name, name.lower(), email, email.lower(), card, e164, f"061{digits}", f"61{digits}"}
    )
    # The customer id is not personal data: tickets keep it. Finding it in the events' bytea
    # proves the scan reads bytea columns at all.
    kept = uuid.UUID(customer["id"]).hex

    # As the owner: the application's own login sees no row without a tenant.
    before = traces(owner_database_url, [*personal, kept])
    assert all(before[needle] == ["public.customer_profiles"] for needle in (email, card, e164))
    assert "public.customer_profiles" in before[name]
    assert any(where.endswith(".state") for where in before[kept]), before[kept]

    erased = admin.request("DELETE", f"customers/{customer['id']}/")

    assert erased.status_code == 204, erased.text
    assert erased.content == b""
    after = traces(owner_database_url, [*personal, kept])
    assert {needle: after[needle] for needle in personal} == {needle: [] for needle in personal}
    assert after[kept] == before[kept]
    gone = assert_problem(admin.get(f"customers/{customer['id']}/"), 404, "not_found")
    assert "erased" in gone["detail"]
    assert_problem(admin.request("DELETE", f"customers/{customer['id']}/"), 404)
    assert_problem(admin.request("PATCH", f"customers/{customer['id']}/", json={"name": "X"}), 404)
    assert admin.ok("GET", f"customers/?phone={e164.replace('+', '%2B')}")["items"] == []
    refused = admin.post("tickets/", {"queue_id": floor.queue["id"], "customer_id": customer["id"]})
    assert_problem(refused, 404)

    tickets_after = {t: admin.ticket(t) for t in (served, waiting)}
    assert tickets_after == tickets_before
    assert tickets_after[served]["status"] == "completed"
    assert tickets_after[served]["customer_id"] == customer["id"]
    assert tickets_after[waiting]["position"] == 1
    assert admin.ok("GET", f"queues/{floor.queue['id']}/") == queue_before
    assert queue_before["waiting"] == 2
