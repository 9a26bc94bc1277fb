"""A smoke run of the projection benchmark on a tiny history, so the script does not rot.

The real run (200,000 events, minutes) is never part of the suite; see docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.following.runner import read_models

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "projections.py"


def test_the_projection_benchmark_reports_rebuild_throughput_and_lag(owner_database_url):
    command = [sys.executable, str(SCRIPT), "--database-url", owner_database_url, "--no-cache"]
    # --target 0: a tiny history's rebuild is all fixed costs; do not profile it.
    command += ["--events", "600", "--runs", "1", "--workers", "1", "--target", "0"]
    command += ["--rates", "20", "--lag-seconds", "1", "--wake", "notify"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert finished.returncode == 0, finished.stderr[-3000:]
    report = finished.stdout
    rebuild_lines = [line.split() for line in report.splitlines() if line.startswith("  audit_log")]
    assert rebuild_lines, report
    assert float(rebuild_lines[0][1].replace(",", "")) > 0  # events/s of the audit log rebuild
    assert "raw copy (baseline)" in report
    lag_lines = [line.split() for line in report.splitlines() if line.startswith("  notify")]
    assert {line[3] for line in lag_lines} == set(read_models())  # one line per read model
    for _wake, rate, _done, _model, commands, *_figures, failed, missed in lag_lines:
        assert rate == "20"
        assert int(commands) > 0
        assert (failed, missed) == ("0", "0")  # every commit was seen covered by its follower
