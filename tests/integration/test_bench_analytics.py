"""A smoke run of the analytics benchmark on a tiny history, so the script does not rot.

The real run (50 sites, a year, minutes) is never part of the suite; see docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "analytics.py"


def _rate(report: str, name: str) -> float:
    lines = [line for line in report.splitlines() if line.startswith(f"  {name}")]
    assert lines, report
    return float(lines[0][len(name) + 2 :].split()[0].replace(",", ""))


def test_the_analytics_benchmark_reports_catch_up_queries_and_sink(owner_database_url):
    command = [sys.executable, str(SCRIPT), "--database-url", owner_database_url]
    command += ["--sites", "2", "--days", "9", "--visits-per-day", "6"]
    command += ["--repeat", "1", "--samples", "2", "--cell-seconds", "0"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)

    assert finished.returncode == 0, finished.stderr[-3000:]
    report = finished.stdout
    assert "KPIs agree with the visits made" in report  # the fold saw the visits the bench made
    assert _rate(report, "kpis rebuild (projection)") > 0
    assert _rate(report, "raw log read + COPY (baseline)") > 0
    assert _rate(report, "sink (batch_of + SinkStore)") > 0
    assert _rate(report, "raw DuckDB insert (baseline)") > 0
    query_lines = [
        line.split()
        for line in report.splitlines()
        if line.startswith(("  day 2", "  month 2", "  year 2"))
    ]
    assert len(query_lines) == 3 * 4  # day, month, year; none, site, day, hour
    for line in query_lines:
        assert float(line[5]) > 0  # get_kpis p50, ms
