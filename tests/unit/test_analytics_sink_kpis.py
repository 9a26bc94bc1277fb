"""The headline KPI query of docs/analytics-sink.md, run as the page prints it on a sink file
whose events were written by hand, against figures worked out by hand: visits, transfers,
site-local days and a queue whose time zone changed."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infrastructure.analytics.rows import batch_of
from infrastructure.analytics.store import SinkStore

DOC = Path(__file__).parents[2] / "docs" / "analytics-sink.md"
MARKER = "<!-- kpi-sql:"
DAY = date(2026, 3, 2)
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def kpi_sql() -> str:
    """The SQL block right after the page's ``kpi-sql`` marker, as printed."""
    text = DOC.read_text()
    after = text[text.index(MARKER) :]
    match = re.search(r"```sql\n(.*?)```", after, re.DOTALL)
    assert match, "docs/analytics-sink.md lost its KPI query"
    return match.group(1)


def kpis(connection: Any, from_day: date, to_day: date) -> dict[tuple[str, date], dict[str, Any]]:
    """The query's rows by (queue id, day), each a dict of its columns."""
    connection.execute(f"SET VARIABLE from_day = DATE '{from_day.isoformat()}'")
    connection.execute(f"SET VARIABLE to_day = DATE '{to_day.isoformat()}'")
    result = connection.execute(kpi_sql())
    names = [column[0] for column in result.description]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return {(str(row["queue_id"]), row["day"]): row for row in rows}


@dataclass
class Stream:
    """Envelopes written by hand, in log order, as the relay would publish them."""

    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    position: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    records: list[Any] = field(default_factory=list)

    def event(self, aggregate: str, aggregate_id: str, event_type: str, **data: Any) -> None:
        self.position += 1
        version = self.versions[aggregate_id] = self.versions.get(aggregate_id, 0) + 1
        value = {
            "event_id": f"{aggregate_id}:{version}",
            "event_type": f"{aggregate}.{event_type}",
            "schema_version": 1,
            "tenant_id": self.tenant_id,
            "aggregate_type": aggregate,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "log_position": self.position,
            "occurred_at": datetime.now(UTC).isoformat(),  # not the domain's time: unused
            "actor": {"id": None, "role": None},
            "correlation_id": None,
            "causation_id": None,
            "data": {
                key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in data.items()
            },
        }
        topic = f"smartqueue.{aggregate.lower()}.v1"
        self.records.append(_Record(topic, 0, len(self.records), json.dumps(value).encode()))

    def queue(self, timezone: str) -> str:
        queue_id = str(uuid.uuid4())
        self.event("Queue", queue_id, "Opened", name="Q", timezone=timezone)
        return queue_id

    def issue(self, queue_id: str, minutes: float) -> str:
        ticket_id = str(uuid.uuid4())
        self.event("Ticket", ticket_id, "Issued", queue_id=queue_id, issued_at=at(minutes))
        return ticket_id

    def do(self, ticket_id: str, event_type: str, minutes: float, **data: Any) -> None:
        self.event("Ticket", ticket_id, event_type, at=at(minutes), **data)


@dataclass(frozen=True)
class _Record:
    topic: str
    partition: int
    offset: int
    value: bytes


def at(minutes: float) -> datetime:
    return NINE + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> tuple[SinkStore, str, str]:
    s = Stream()
    q1, q2 = s.queue("Europe/Paris"), s.queue("UTC")
    t1, t2, t3 = s.issue(q1, 0), s.issue(q1, 0), s.issue(q1, 0)
    s.do(t1, "Called", 2)  # waited 120 s
    s.do(t1, "ServiceStarted", 3)
    s.do(t2, "Called", 5)  # waited 300 s
    s.do(t2, "MarkedNoShow", 7)
    s.do(t1, "Completed", 8)  # served 300 s
    s.do(t3, "Called", 9)  # waited 540 s
    s.do(t3, "Recalled", 9)
    s.do(t3, "ServiceStarted", 9)
    t4 = s.issue(q1, 10)
    s.do(t3, "Paused", 10)
    t5 = s.issue(q1, 11)
    s.do(t3, "Resumed", 12)
    s.do(t4, "Cancelled", 12)  # cancelled while waiting: no wait counted
    s.do(t5, "Called", 15)  # waited 240 s in q1
    s.do(t5, "Transferred", 16, from_queue_id=q1, to_queue_id=q2)  # a visit to q2 begins
    s.do(t3, "Completed", 19)  # served 600 s (the pause included)
    s.do(t5, "Called", 20)  # waited 240 s in q2
    s.do(t5, "ServiceStarted", 21)
    s.do(t5, "Completed", 25)  # served 240 s in q2
    t6 = s.issue(q1, 14 * 60 + 30)  # 23:30 UTC: 00:30 the next day in Paris
    s.do(t6, "Called", 14 * 60 + 40)  # waited 600 s
    s.event("Queue", q2, "TimezoneChanged", timezone="America/New_York")
    s.issue(q2, 17 * 60)  # 02:00 UTC on the 3rd: 21:00 on the 2nd in New York; still waiting
    store = SinkStore(tmp_path_factory.mktemp("kpi") / "sink.duckdb")
    store.write(batch_of({0: s.records}))
    store.write(batch_of({1: s.records}))  # published twice: stored once
    return store, q1, q2


def test_each_queue_and_site_local_day_gets_its_hand_computed_counts(scripted) -> None:
    store, q1, q2 = scripted
    rows = kpis(store.connection, DAY, DAY + timedelta(days=1))
    assert sorted(rows) == sorted([(q1, DAY), (q1, DAY + timedelta(days=1)), (q2, DAY)])
    counts = ("arrivals", "transferred_in", "served", "no_shows", "cancellations")
    assert {name: rows[(q1, DAY)][name] for name in counts} == {
        "arrivals": 5,
        "transferred_in": 0,
        "served": 2,
        "no_shows": 1,
        "cancellations": 1,
    }
    assert {name: rows[(q2, DAY)][name] for name in counts} == {
        "arrivals": 1,  # in New York's day, by the zone in force when it was issued
        "transferred_in": 1,
        "served": 1,
        "no_shows": 0,
        "cancellations": 0,
    }
    next_day = rows[(q1, DAY + timedelta(days=1))]
    assert (next_day["arrivals"], next_day["served"], next_day["wait_mean_seconds"]) == (1, 0, 600)


def test_waiting_and_service_times_have_their_hand_computed_means_and_percentiles(
    scripted,
) -> None:
    store, q1, q2 = scripted
    day = kpis(store.connection, DAY, DAY)[(q1, DAY)]
    # Waits 120, 240, 300, 540 s; a percentile is the value at rank floor(q * (n - 1)), the
    # API's (no interpolation): p50 at floor(1.5) = 1 -> 240, p90 at floor(2.7) = 2 -> 300,
    # p95 at floor(2.85) = 2 -> 300.
    assert day["waits_counted"] == 4
    assert day["wait_mean_seconds"] == pytest.approx(300)
    assert day["wait_p50_seconds"] == 240
    assert day["wait_p90_seconds"] == 300
    assert day["wait_p95_seconds"] == 300
    # Services 300 and 600 s: every percentile at rank floor(q * 1) = 0 -> 300.
    assert day["services_counted"] == 2
    assert day["service_mean_seconds"] == pytest.approx(450)
    assert day["service_p50_seconds"] == 300
    assert day["service_p90_seconds"] == 300
    assert day["service_p95_seconds"] == 300
    other = kpis(store.connection, DAY, DAY)[(q2, DAY)]
    assert (other["wait_mean_seconds"], other["service_p95_seconds"]) == (240, 240)


def test_the_range_leaves_out_the_days_outside_it(scripted) -> None:
    store, q1, q2 = scripted
    assert set(kpis(store.connection, DAY, DAY)) == {(q1, DAY), (q2, DAY)}
    later = DAY + timedelta(days=1)
    assert set(kpis(store.connection, later, later)) == {(q1, later)}
    assert kpis(store.connection, DAY - timedelta(days=9), DAY - timedelta(days=1)) == {}
