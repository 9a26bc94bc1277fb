"""The exports' writers over a fake read model: CSV and Parquet hold the same facts, and both
hand out bytes chunk by chunk, before the next chunk of rows is read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pyarrow.parquet as pq

from application.analytics import Analytics
from application.analytics_exports import VISIT_COLUMNS, VISIT_FILE_COLUMNS, VisitFact
from infrastructure.parquet import ParquetFiles, schema_of

VISIT_SCHEMA = schema_of(VISIT_FILE_COLUMNS)

TENANT = uuid4()
DAY = date(2026, 10, 25)


def _fact(index: int) -> VisitFact:
    issued = datetime(2026, 10, 25, 7, 0, tzinfo=UTC) + timedelta(seconds=index)
    served = index % 2 == 0
    return VisitFact(
        ticket_id=uuid4(),
        number=f"A-{index:03d}",
        site_id=uuid4(),
        service_id=uuid4(),
        queue_id=uuid4(),
        agent_id=uuid4() if served else None,
        channel="kiosk",
        counter="2" if served else None,
        day=DAY,
        issued_at=issued,
        called_at=issued + timedelta(seconds=90) if served else None,
        service_started_at=issued + timedelta(seconds=100) if served else None,
        finished_at=issued + timedelta(seconds=400) if served else None,
        waiting_seconds=90.0 if served else None,
        service_seconds=300.0 if served else None,
        outcome="served" if served else "waiting",
        recalls=0,
        transfers=index % 3,
    )


class FakeVisitFacts:
    """Chunks of facts, recording how many chunks were read."""

    def __init__(self, chunks: list[list[VisitFact]]) -> None:
        self.chunks = chunks
        self.read = 0

    def facts(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[list[VisitFact]]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


def _analytics(chunks: list[list[VisitFact]]) -> tuple[Analytics, FakeVisitFacts]:
    facts = FakeVisitFacts(chunks)
    return Analytics(None, facts, ParquetFiles()), facts  # type: ignore[arg-type]


def test_csv_and_parquet_exports_hold_the_same_facts():
    chunks = [[_fact(i) for i in range(start, start + 3)] for start in (0, 3, 6)]
    analytics, _ = _analytics(chunks)
    text = b"".join(analytics.export_visits_csv(TENANT, DAY, DAY)).decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    table = pq.read_table(io.BytesIO(b"".join(analytics.export_visits_parquet(TENANT, DAY, DAY))))
    assert table.schema == VISIT_SCHEMA
    assert tuple(lines[0]) == VISIT_COLUMNS == tuple(table.column_names)
    facts = [fact for chunk in chunks for fact in chunk]
    for fact, line, row in zip(facts, lines, table.to_pylist(), strict=True):
        assert line["ticket_id"] == row["ticket_id"] == str(fact.ticket_id)
        assert datetime.fromisoformat(line["issued_at"]) == row["issued_at"] == fact.issued_at
        assert row["waiting_seconds"] == fact.waiting_seconds
        assert line["agent_id"] == ("" if fact.agent_id is None else str(fact.agent_id))
        assert row["transfers"] == int(line["transfers"]) == fact.transfers
    assert pq.ParquetFile(io.BytesIO(pq_bytes(analytics))).num_row_groups == 3


def pq_bytes(analytics: Analytics) -> bytes:
    return b"".join(analytics.export_visits_parquet(TENANT, DAY, DAY))


def test_each_chunk_of_rows_is_sent_before_the_next_is_read():
    for export in ("export_visits_csv", "export_visits_parquet"):
        analytics, facts = _analytics([[_fact(0)], [_fact(1)], [_fact(2)]])
        chunks = getattr(analytics, export)(TENANT, DAY, DAY)
        next(chunks)
        assert facts.read == 1, export
        next(chunks)
        assert facts.read == 2, export


def test_an_empty_range_is_a_header_or_an_empty_parquet_file():
    analytics, _ = _analytics([])
    assert b"".join(analytics.export_visits_csv(TENANT, DAY, DAY)).count(b"\r\n") == 1
    table = pq.read_table(io.BytesIO(pq_bytes(analytics)))
    assert table.num_rows == 0 and table.schema == VISIT_SCHEMA
