"""The display client processes (``bench/ws_clients.py``), seen from the benchmark: how clients
are spread, the line protocol, waiting for changes to arrive, and merging their reports."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.environment import stop_process, warn
from bench.fanout_load import Command, Run
from bench.fanout_stack import BenchSite
from bench.harness import BenchmarkError

if TYPE_CHECKING:
    from bench.live_spy import PublishSpy

CLIENTS_PER_DISPLAY = 50
"""Display devices sign in once each; this many clients share one's token."""
DRAIN_TIMEOUT_SECONDS = 30.0
STALL_SECONDS = 5.0


class ClientProcess:
    """A ``python -m bench.ws_clients`` process and its line protocol."""

    def __init__(self, config: dict[str, Any], folder: Path, number: int) -> None:
        self.folder = folder
        self.number = number
        config_path = folder / f"clients-{number}.json"
        config_path.write_text(json.dumps(config))
        root = str(Path(__file__).resolve().parents[1])
        self.log_path = folder / f"clients-{number}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.ws_clients", str(config_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "PYTHONPATH": root},
                start_new_session=True,
            )

    def said(self) -> dict[str, Any]:
        """The next line the process prints (blocking)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise BenchmarkError(f"WebSocket client process {self.number} exited:\n{tail}")
        return json.loads(line)

    def ask(self, request: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(request.encode() + b"\n")
        self.process.stdin.flush()
        return self.said()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.write(b"quit\n")
            self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        stop_process(self.process)


@contextlib.contextmanager
def client_processes(
    configs: Sequence[dict[str, Any]], folder: Path
) -> Iterator[list[ClientProcess]]:
    processes: list[ClientProcess] = []
    try:
        for number, config in enumerate(configs):
            processes.append(ClientProcess(config, folder, number))
        yield processes
    finally:
        for process in processes:
            process.stop()


# -- the measurement -----------------------------------------------------------------------------


def client_configs(
    site: BenchSite, urls: list[str], display_tokens: list[str], options: argparse.Namespace
) -> list[dict[str, Any]]:
    """Clients spread over the API processes and queues, then over the client processes."""
    configs: list[dict[str, Any]] = [
        {"slug": site.slug, "clients": [], "concurrency": options.connect_concurrency}
        for _ in range(options.client_processes)
    ]
    apis, queues = len(urls), len(site.queue_ids)
    for index in range(options.clients):
        client = {
            "index": index,
            "api": urls[index % apis],
            "queue_id": str(site.queue_ids[(index // apis) % queues]),
            "token": display_tokens[index // CLIENTS_PER_DISPLAY],
        }
        # Every client process holds clients of every API process and queue.
        configs[(index // (apis * queues)) % options.client_processes]["clients"].append(client)
    return [config for config in configs if config["clients"]]


def command_file(
    folder: Path, commands: Sequence[Command], run: int, spy: PublishSpy | None = None
) -> Path:
    """The commands of a run for the client processes (with when their change was published,
    once it was)."""
    path = folder / f"commands-{run}.json"
    entries = [
        {**asdict(command), "run": run, "published_at": spy and spy.published_at(command)}
        for command in commands
    ]
    path.write_text(json.dumps(entries))
    return path


def drain(processes: Sequence[ClientProcess], path: Path, timeout: float) -> int:
    """Until every client has every change of these commands: what is still missing after
    ``timeout``, or once nothing more has arrived for ``STALL_SECONDS``."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while True:
        answers = [process.ask(f"check {path}") for process in processes]
        missing = sum(answer["missing"] for answer in answers)
        if missing == 0:
            return 0
        now = time.monotonic()
        if missing != last:
            last, last_change = missing, now
        if now > deadline or now - last_change > STALL_SECONDS:
            silent: dict[str, int] = {}
            for answer in answers:
                for where, count in answer["silent"].items():
                    silent[where] = silent.get(where, 0) + count
            if silent:
                warn(f"  clients that got no change at all: {silent}")
            return missing
        time.sleep(0.2)


def merge_runs(reports: Sequence[dict[str, Any]], runs: int, name: str) -> list[Run]:
    """One run's ``name`` figures of every client process together."""
    merged = []
    for run in range(runs):
        values: list[float] = []
        missed = 0
        for report in reports:
            figures = report["runs"].get(str(run), {name: [], "missed": []})
            values += figures[name]
            missed += sum(figures["missed"])
        merged.append(Run(values, missed))
    return merged
