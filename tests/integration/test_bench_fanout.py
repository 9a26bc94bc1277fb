"""A smoke run of the fan-out benchmark at a tiny scale, so the script does not rot.

The real run (500 clients, about 3 minutes) is never part of the suite; see docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "fanout.py"


def test_the_fanout_benchmark_reports_throughput_and_both_latencies(owner_database_url):
    command = [sys.executable, str(SCRIPT), "--database-url", owner_database_url, "--runs", "1"]
    command += ["--seconds", "1", "--events", "600", "--clients", "10", "--client-processes", "1"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    assert finished.returncode == 0, finished.stderr[-3000:]
    report = finished.stdout
    assert "1. Relay throughput" in report
    assert "events/s median (min-max) of 1 runs" in report
    consumer = next(line for line in report.splitlines() if "command return → consumer" in line)
    assert "0 missed" in consumer
    client = next(line for line in report.splitlines() if "command return → client" in line)
    assert "0 missed" in client
    assert "0 of 10 clients missed some in a run" in report
