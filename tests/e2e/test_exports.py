"""The streamed exports over HTTP: the visit facts of a range as CSV and Parquet agree with each
other and with the tickets the test made, carry no personal data, and answer 400 for a bad
range and 403 to an agent; the KPI Parquet export holds the KPI CSV export's rows."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import httpx
import pyarrow.parquet as pq
import pytest

from tests.e2e.support import Session, assert_problem

pytestmark = pytest.mark.e2e

PARQUET = "application/vnd.apache.parquet"
PERSONAL = {"customer_id", "customer", "name", "phone", "email"}


def _range() -> dict[str, str]:
    today = date.today()  # the site's day is within a day of the test's
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


class Visits:
    """One site at Montreal, a queue, an agent; four tickets: served, no-show, abandoned,
    still waiting."""

    def __init__(self, admin: Session) -> None:
        site = admin.add_site("Branch", "America/Montreal")
        service = admin.ok("POST", "queues/services/", {"name": "Counter", "code": "X"}, status=201)
        self.site, self.service = site["id"], service["id"]
        self.queue = admin.open_queue(site["id"], [service["id"]], name="Queue X")["id"]
        self.agent = admin.add_agent([self.queue])
        self.agent.set_status("available", counter="7")
        tickets = [admin.issue(self.queue) for _ in range(4)]
        self.served, self.no_show, self.abandoned, self.waiting = (t["id"] for t in tickets)
        self.numbers = {t["id"]: t["number"] for t in tickets}
        call = {"queue_id": self.queue}
        assert self.agent.ok("POST", "agents/call-next/", call)["id"] == self.served
        for action in ("start", "close"):
            assert self.agent.act(self.served, action).status_code == 200
        assert self.agent.ok("POST", "agents/call-next/", call)["id"] == self.no_show
        assert self.agent.act(self.no_show, "mark_no_show").status_code == 200
        assert admin.act(self.abandoned, "cancel").status_code == 200
        admin.settle("tickets")
        admin.settle("agent_board")  # the queue's time zone, which site-local days need


def test_visit_facts_as_csv_and_parquet_agree_with_the_tickets_and_hold_no_personal_data(
    admin: Session, projections: None
):
    visits = Visits(admin)
    as_csv = admin.get("analytics/tickets/export.csv", params=_range())
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    assert as_csv.text.startswith("ticket_id,number,site_id,") and "\r\n" in as_csv.text
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    by_id = {line["ticket_id"]: line for line in lines}
    assert set(by_id) == set(visits.numbers)
    assert {line["outcome"] for line in lines} == {"served", "no_show", "abandoned", "waiting"}
    assert by_id[visits.served]["outcome"] == "served"
    assert by_id[visits.no_show]["outcome"] == "no_show"
    assert by_id[visits.abandoned]["outcome"] == "abandoned"
    assert by_id[visits.waiting]["outcome"] == "waiting"
    for ticket_id, line in by_id.items():
        assert line["number"] == visits.numbers[ticket_id]
        assert (line["site_id"], line["service_id"], line["queue_id"]) == (
            visits.site,
            visits.service,
            visits.queue,
        )
        assert line["channel"] == "api"
        assert datetime.fromisoformat(line["issued_at"]).utcoffset() == timedelta(0)
    served = by_id[visits.served]
    assert served["agent_id"] and served["counter"] == "7"
    assert float(served["waiting_seconds"]) >= 0 and float(served["service_seconds"]) >= 0
    assert served["finished_at"] and served["service_started_at"] and served["called_at"]
    assert by_id[visits.waiting]["called_at"] == by_id[visits.waiting]["waiting_seconds"] == ""
    assert by_id[visits.abandoned]["service_seconds"] == ""
    assert not PERSONAL & set(lines[0])

    as_parquet = admin.get("analytics/tickets/export.parquet", params=_range())
    assert as_parquet.status_code == 200, as_parquet.text
    assert as_parquet.headers["content-type"].startswith(PARQUET)
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == list(lines[0])
    assert not PERSONAL & set(table.column_names)
    assert str(table.schema.field("issued_at").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("day").type) == "date32[day]"
    rows = {row["ticket_id"]: row for row in table.to_pylist()}
    assert set(rows) == set(by_id)
    for ticket_id, row in rows.items():
        line = by_id[ticket_id]
        for name, value in row.items():
            if value is None:
                assert line[name] == "", name
            elif isinstance(value, datetime):
                assert value == datetime.fromisoformat(line[name]), name
            elif isinstance(value, float):
                assert value == pytest.approx(float(line[name])), name
            else:
                assert str(value) == line[name], name

    empty = admin.get(
        "analytics/tickets/export.parquet", params={"from": "2020-01-01", "to": "2020-01-02"}
    )
    assert empty.status_code == 200
    assert pq.read_table(io.BytesIO(empty.content)).num_rows == 0
    header_only = admin.get(
        "analytics/tickets/export.csv", params={"from": "2020-01-01", "to": "2020-01-02"}
    )
    assert header_only.text.count("\r\n") == 1


def test_the_kpi_parquet_export_holds_the_rows_of_the_kpi_csv_export(
    admin: Session, projections: None
):
    Visits(admin)
    admin.settle("kpis")
    params = {**_range(), "group_by": "site,queue,agent,day"}
    as_csv = admin.get("analytics/kpis/export.csv", params=params)
    as_parquet = admin.get("analytics/kpis/export.parquet", params=params)
    assert as_parquet.status_code == 200, as_parquet.text
    assert as_parquet.headers["content-type"].startswith(PARQUET)
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == list(lines[0])
    assert str(table.schema.field("arrivals").type) == "int64"
    assert str(table.schema.field("day").type) == "date32[day]"
    assert len(lines) == table.num_rows == 2  # the agent's visits and the uncalled ones
    for line, row in zip(lines, table.to_pylist(), strict=True):
        for name, value in row.items():
            if value is None:
                assert line[name] == "", name
            elif isinstance(value, float):
                assert value == pytest.approx(float(line[name])), name
            else:
                assert str(value) == line[name], name


def test_bad_ranges_are_400_and_agents_are_403(admin: Session, projections: None):
    agent = admin.add_agent()
    exports = (
        "analytics/tickets/export.csv",
        "analytics/tickets/export.parquet",
        "analytics/kpis/export.parquet",
    )
    for params in (
        {"from": "2026-03-02", "to": "2026-03-01"},  # to before from
        {"from": "2025-01-01", "to": "2026-03-01"},  # more than 400 days
        {"from": "yesterday", "to": "2026-03-02"},
        {"to": "2026-03-02"},
    ):
        for export in exports:
            assert_problem(admin.get(export, params=params), 400)
    for export in exports:
        assert_problem(agent.get(export, params=_range()), 403)


def test_the_exports_are_documented_with_their_content_types_and_errors(api_url: str):
    document = httpx.get(f"{api_url}/schema/openapi.json", timeout=30.0).json()
    base = "/api/v1/tenants/{slug}/analytics"
    for path, media_type in (
        ("/tickets/export.csv", "text/csv"),
        ("/tickets/export.parquet", PARQUET),
        ("/kpis/export.parquet", PARQUET),
    ):
        operation = document["paths"][base + path]["get"]
        assert media_type in operation["responses"]["200"]["content"], path
        assert {"400", "403"} <= set(operation["responses"]), path
        assert {"from", "to"} <= {parameter["name"] for parameter in operation["parameters"]}
