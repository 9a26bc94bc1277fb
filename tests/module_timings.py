"""Per-module wall time of a test run, for finding CI's critical path.

Off unless ``SMARTQUEUE_TEST_TIMINGS`` names a file: the controlling pytest process (not the
xdist workers) then writes there, at the end of the session, one JSON object per test module with
its worker, when it started and ended (seconds since the first test began) and its wall time (set
up, call and tear down of its tests, module and session fixtures included). Nothing is printed.

``python -m tests.module_timings FILE`` prints the modules slowest first and each worker's busy
time; ``--list`` prints them in the format of ``tests/slow_modules.txt``; ``--simulate 3`` replays
xdist's hand-out of the measured modules to 3 workers in three orders and prints each wall time.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest


class ModuleTimings:
    """Collects every test phase's report and writes the per-module figures at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.phases: list[tuple[str, str, float, float]] = []
        self.tests: dict[str, int] = defaultdict(int)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)
        worker = node.gateway.id if node is not None else "main"
        module = report.nodeid.split("::", 1)[0]
        self.phases.append((module, worker, report.start, report.stop))
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.tests[module] += 1

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        if not self.phases:
            return
        origin = min(start for _, _, start, _ in self.phases)
        modules: dict[str, dict] = {}
        for module, worker, start, stop in self.phases:
            entry = modules.setdefault(
                module,
                {
                    "module": module,
                    "worker": worker,
                    "start": start,
                    "end": stop,
                    "busy": 0.0,
                    "tests": self.tests[module],
                },
            )
            entry["start"] = min(entry["start"], start)
            entry["end"] = max(entry["end"], stop)
            entry["busy"] += stop - start
        with self.path.open("w") as out:
            for entry in sorted(modules.values(), key=lambda item: item["start"]):
                entry["start"] = round(entry["start"] - origin, 2)
                entry["end"] = round(entry["end"] - origin, 2)
                entry["busy"] = round(entry["busy"], 2)
                out.write(json.dumps(entry) + "\n")


def simulate(entries: list[dict], order: list[str], workers: int) -> float:
    """The wall time xdist's ``--dist loadfile`` would take over the measured modules handed out
    in ``order``: a worker gets one module, then another whenever it has at most two tests left
    (xdist's LoadScopeScheduling), each test taking its module's mean time."""
    known = {entry["module"]: entry for entry in entries}
    pending = [known[module] for module in order if module in known]
    clocks = [0.0] * workers
    queues: list[list[float]] = [[] for _ in range(workers)]  # the end time of each test

    def assign(worker: int) -> None:
        entry = pending.pop(0)
        tests = max(1, entry.get("tests", 1))
        start = queues[worker][-1] if queues[worker] else clocks[worker]
        step = entry["busy"] / tests
        queues[worker].extend(start + step * (n + 1) for n in range(tests))

    for worker in range(workers):
        if pending:
            assign(worker)
    for worker in range(workers):  # "at least two work units" at the start
        if pending and len(queues[worker]) <= 2:
            assign(worker)
    while pending:
        # The next test to end, on whichever worker; then that worker may get one more module.
        worker = min((w for w in range(workers) if queues[w]), key=lambda w: queues[w][0])
        clocks[worker] = queues[worker].pop(0)
        if len(queues[worker]) <= 2:
            assign(worker)
    return max(queue[-1] if queue else clock for queue, clock in zip(queues, clocks, strict=True))


def _report(path: Path, as_list: bool) -> None:
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    entries.sort(key=lambda item: -item["busy"])
    if as_list:
        for entry in entries:
            print(f"{entry['busy']:8.1f}  {entry['module']}")
        return
    workers: dict[str, float] = defaultdict(float)
    ends: dict[str, float] = defaultdict(float)
    for entry in entries:
        workers[entry["worker"]] += entry["busy"]
        ends[entry["worker"]] = max(ends[entry["worker"]], entry["end"])
    for worker in sorted(workers):
        print(f"{worker}: busy {workers[worker]:.0f} s, last test ended at {ends[worker]:.0f} s")
    print(f"total busy {sum(workers.values()):.0f} s over {len(entries)} modules")
    for entry in entries[:40]:
        print(
            f"{entry['busy']:8.1f} s  {entry['worker']:>3}  "
            f"{entry['start']:7.0f}-{entry['end']:<7.0f} {entry['module']}"
        )


def _simulations(path: Path, workers: int) -> None:
    """The wall time each hand-out order would give on ``workers`` workers, by :func:`simulate`."""
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_path = sorted(entry["module"] for entry in entries)
    tests = {entry["module"]: entry.get("tests", 1) for entry in entries}
    orders = {
        "xdist's default (most tests first)": sorted(by_path, key=lambda m: -tests[m]),
        "collection order": by_path,
        "slowest first": [e["module"] for e in sorted(entries, key=lambda e: -e["busy"])],
    }
    busy = sum(entry["busy"] for entry in entries)
    print(f"{len(entries)} modules, {busy:.0f} s of work, {busy / workers:.0f} s per worker")
    for name, order in orders.items():
        print(f"{simulate(entries, order, workers):7.0f} s  {name}")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    timings = Path(next(arg for arg in arguments if not arg.startswith("--")))
    if "--simulate" in arguments:
        _simulations(timings, int(arguments[arguments.index("--simulate") + 1]))
    else:
        _report(timings, "--list" in arguments)
