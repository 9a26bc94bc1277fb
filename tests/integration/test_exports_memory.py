"""A range larger than the memory allowance streams: 250,000 tickets in the read model of a
database of the module's own are exported as CSV and as Parquet by the real export functions in
a child process, whose resident memory (sampled while it runs) may grow by at most
:data:`GROWTH_BOUND_MB`.

The arithmetic that makes the bound meaningful. A load-everything export would hold, at once,

- the rows fetched: per row a result tuple of 18 values (~200 bytes), four ``UUID`` objects
  (~100 bytes each with their integer), four ``datetime`` objects (48 bytes each), a few
  strings and floats (~200 bytes): more than 900 bytes a row, so over 225 MB for 250,000 rows;
- or the output: every CSV line is more than 300 bytes (five 36-character ids, four
  32-character timestamps, the rest), so over 75 MB of CSV text, and an Arrow table of the
  same rows is over 60 MB before compression (five ids of 36 bytes plus offsets, four 8-byte
  timestamps, a date, two doubles, three more strings).

Either is above the 50 MB bound. Streaming holds one chunk of ``CHUNK_ROWS`` (5,000) rows,
about 5 MB as objects plus one Parquet row group and its output, whatever the range's size.
The test measures what the bound guards too: the child asserts it read every row.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import date
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from infrastructure.read_models.visit_facts import CHUNK_ROWS
from tests.integration.roles_support import every_tenant

pytestmark = pytest.mark.integration

ROWS = 250_000
FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2026, 3, 31)
GROWTH_BOUND_MB = 50
# A ticket every 30 s from the first day on: 250,000 of them span about 87 days.
FILL = text(
    """
    INSERT INTO tickets (
        ticket_id, tenant_id, number, status, queue_id, service_id, priority, channel,
        customer_id, agent_id, counter, issued_at, first_called_at, called_at,
        service_started_at, finished_at, recalls, transfers
    )
    SELECT
        gen_random_uuid(), :tenant, 'A-' || (n % 1000), status, :queue, :service, 0, 'kiosk',
        gen_random_uuid(), CASE WHEN status = 'waiting' THEN NULL ELSE :agent END,
        CASE WHEN status = 'waiting' THEN NULL ELSE '3' END, issued,
        CASE WHEN status = 'waiting' THEN NULL ELSE issued + interval '95 seconds' END,
        CASE WHEN status = 'waiting' THEN NULL ELSE issued + interval '95 seconds' END,
        CASE WHEN status = 'completed' THEN issued + interval '2 minutes' END,
        CASE WHEN status IN ('completed', 'no_show') THEN issued + interval '7 minutes' END,
        0, 0
    FROM (
        SELECT n, timestamptz '2026-01-01 08:00+01' + n * interval '30 seconds' AS issued,
               (ARRAY['completed', 'completed', 'no_show', 'waiting'])[n % 4 + 1] AS status
        FROM generate_series(1, :rows) AS n
    ) AS generated
    """
)


@pytest.fixture(scope="module")
def filled(own_container) -> tuple[str, UUID]:
    """The module's database with ``ROWS`` tickets of one tenant's queue at Paris."""
    tenant, queue, service, site, agent = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    with every_tenant(own_container.read_engine) as connection:
        connection.execute(
            text(
                "INSERT INTO ticket_queues (queue_id, tenant_id, site_id, policy)"
                " VALUES (:queue, :tenant, :site, 'fifo')"
            ),
            {"queue": queue, "tenant": tenant, "site": site},
        )
        connection.execute(
            text(
                "INSERT INTO queue_eta (queue_id, tenant_id, site_id, timezone, service_seconds,"
                " occupancy_seconds) VALUES (:queue, :tenant, :site, 'Europe/Paris', '{}', '{}')"
            ),
            {"queue": queue, "tenant": tenant, "site": site},
        )
        connection.execute(
            FILL,
            {"tenant": tenant, "queue": queue, "service": service, "agent": agent, "rows": ROWS},
        )
    return own_container.database_url, tenant


def _export_in_a_child(
    database_url: str, tenant: UUID, export: str, chunk_rows: int = CHUNK_ROWS
) -> dict:
    asked = {
        "database_url": database_url,
        "tenant": str(tenant),
        "export": export,
        "chunk_rows": chunk_rows,
    }
    child = subprocess.run(
        [sys.executable, "-m", "tests.integration.test_exports_memory"],
        input=json.dumps(asked),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


@pytest.mark.parametrize("export", ["export_visits_csv", "export_visits_parquet"])
def test_exporting_a_quarter_of_visits_holds_one_chunk_in_memory(filled, export):
    database_url, tenant = filled
    measured = _export_in_a_child(database_url, tenant, export)
    assert measured["rows"] == ROWS
    growth_mb = (measured["peak"] - measured["baseline"]) / 2**20
    # The bound is meaningful only if the output is larger than it (see the module docstring).
    assert measured["bytes"] / 2**20 > GROWTH_BOUND_MB or export.endswith("parquet")
    assert growth_mb < GROWTH_BOUND_MB, measured


def test_the_bound_catches_an_export_that_reads_the_whole_range_at_once(filled):
    """The control: the same Parquet export with one chunk as large as the range (what a
    load-everything export does) grows past the bound."""
    database_url, tenant = filled
    measured = _export_in_a_child(database_url, tenant, "export_visits_parquet", ROWS)
    assert measured["rows"] == ROWS
    assert (measured["peak"] - measured["baseline"]) / 2**20 > GROWTH_BOUND_MB, measured


def _child() -> None:
    """In the child: warm up on one day (imports, pool, pyarrow's allocator), then export the
    whole range into a file on disk, and report the peak resident size before and after and
    the rows the file holds (counted after the peak is read)."""
    import gc
    import tempfile

    import pyarrow.parquet as pq

    from application.analytics import Analytics
    from infrastructure.parquet import ParquetFiles
    from infrastructure.postgres.sql import sqlalchemy_engine
    from infrastructure.read_models.visit_facts import PostgresVisitFacts

    asked = json.loads(sys.stdin.read())
    tenant = UUID(asked["tenant"])
    engine = sqlalchemy_engine(asked["database_url"], pool_size=1)
    facts = PostgresVisitFacts(engine, asked["chunk_rows"])
    analytics = Analytics(None, facts, ParquetFiles())  # type: ignore[arg-type]
    export = getattr(analytics, asked["export"])
    b"".join(export(tenant, FIRST_DAY, FIRST_DAY))
    gc.collect()
    sampler = _PeakSampler()
    baseline = sampler.process.memory_info().rss
    size, lines = 0, 0
    with tempfile.NamedTemporaryFile(suffix=".export") as output:
        with sampler:
            for chunk in export(tenant, FIRST_DAY, LAST_DAY):
                sampler.sample()
                size += len(chunk)
                lines += chunk.count(b"\r\n")
                output.write(chunk)
            output.flush()
        if asked["export"].endswith("parquet"):
            rows = pq.read_metadata(output.name).num_rows
        else:
            rows = lines - 1  # the header
    print(json.dumps({"baseline": baseline, "peak": sampler.peak, "bytes": size, "rows": rows}))


class _PeakSampler:
    """The child's resident size, sampled every few milliseconds by a thread and at every
    chunk: ``ru_maxrss`` would not do, since the imports' own peak could hide the export's."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        self.peak = max(self.peak, self.process.memory_info().rss)

    def _run(self) -> None:
        while not self.stopped.wait(0.005):
            self.sample()

    def __enter__(self) -> _PeakSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
        self.sample()


if __name__ == "__main__":
    _child()
