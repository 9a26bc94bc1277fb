"""Commit-to-WebSocket latency with many display clients, and a raw Redis pub/sub baseline.

The whole chain runs as it does in production, each role a process of its own on one scratch
database, Redis and broker: ``--api-processes`` ``smartqueue api``, ``smartqueue projections``,
``smartqueue relay`` and ``smartqueue gateway``. Display devices are registered at the site and
sign in; ``--clients`` clients in ``--client-processes`` processes (``bench/ws_clients.py``) are
spread across the API processes and the site's queues. A kiosk issues tickets and each queue's
agent calls, starts and closes them over HTTP (``bench.fanout_load``), spread across the API
processes, at ``--rate`` commands per second. A command's latency for a client is the arrival of
the change carrying that ticket in that status minus the moment the command's HTTP answer came.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from application.context import CommandContext
from bench.environment import free_port, stop_process, warn
from bench.fanout_load import Command, Lane, Run, Spread, latency_line
from bench.fanout_stack import (
    AGENT_PASSWORD,
    BenchSite,
    Services,
    open_site,
    running_api,
    running_role,
    services,
)
from bench.harness import BenchmarkError, percentile_ms
from bench.kafka_latency import run_lanes, wait_relay_idle
from bench.live_spy import PublishSpy
from bench.redis_fanout import redis_baseline
from infrastructure.container import Container

CLIENTS_PER_DISPLAY = 50
CONNECT_TIMEOUT_SECONDS = 180.0
DRAIN_TIMEOUT_SECONDS = 30.0
STALL_SECONDS = 5.0
WARM_UP_ATTEMPTS = 3


@dataclass
class HttpCommands:
    """A lane's commands over HTTP: the kiosk issues, the queue's agent calls, starts, closes."""

    client: httpx.Client
    kiosk_token: str
    agent_token: str

    def _post(self, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = self.client.post(path, json=body or {}, headers=_bearer(token))
        if response.status_code >= 300:
            raise BenchmarkError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response

    def issue(self, queue_id: str) -> str:
        return self._post("tickets/", self.kiosk_token, {"queue_id": queue_id}).json()["id"]

    def call(self, queue_id: str) -> str | None:
        response = self._post("agents/call-next/", self.agent_token, {"queue_id": queue_id})
        return None if response.status_code == 204 else response.json()["id"]

    def start(self, ticket_id: str) -> None:
        self._post(f"tickets/{ticket_id}/start/", self.agent_token)

    def close(self, ticket_id: str) -> None:
        self._post(f"tickets/{ticket_id}/close/", self.agent_token)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(base_url: str, path: str, body: dict[str, str], field: str) -> str:
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        response = client.post(f"/api/v1/{path}", json=body)
        if response.status_code != 200:
            raise BenchmarkError(f"sign-in at {path}: {response.status_code} {response.text}")
        return response.json()[field]


# -- the client processes ------------------------------------------------------------------------


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


@dataclass
class WebSocketResult:
    """What part 3 measured."""

    runs: list[Run]
    to_redis: list[Run]
    from_redis: list[Run]
    baselines: list[Run]
    connect_seconds: float
    connect_each: list[float]
    missed_per_client_max: int
    clients_missing: int
    """The most clients that missed at least one change in a run."""
    reconnects: int
    closed_for_good: list[int]
    achieved: list[float]
    failed: int
    clients: int


@contextlib.contextmanager
def running_stack(
    stack_services: Services, container: Container, folder: Path, api_processes: int
) -> Iterator[list[str]]:
    """The role processes; the API processes' base URLs. The relay goes first and publishes
    the set-up's events (creating the topics) before the gateway subscribes: a kafka-python
    consumer subscribed to a topic that does not exist yet sees it only at its next metadata
    refresh (``metadata_max_age_ms``, 5 minutes by default)."""
    with contextlib.ExitStack() as stack:
        relay = stack.enter_context(running_role(stack_services, "relay", ["relay"], folder))
        wait_relay_idle(stack_services, container.app)
        relay.check_alive()
        for role in ("projections", "gateway"):
            stack.enter_context(running_role(stack_services, role, [role], folder))
        urls = [
            stack.enter_context(running_api(stack_services, f"api-{n}", free_port(), folder))
            for n in range(api_processes)
        ]
        yield urls


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


def _command_file(
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


def measure_websockets(
    server_url: str, workdir: Path, options: argparse.Namespace
) -> WebSocketResult:
    with contextlib.ExitStack() as stack:
        stack_services = stack.enter_context(services(server_url, workdir))
        container = stack_services.container()
        stack.callback(container.close)
        site = open_site(container, options.queues)
        context = CommandContext.system(site.tenant_id, reason="bench")
        displays = [
            container.devices.register_device(context, site.site_id, "display", f"Display {n}")
            for n in range(-(-options.clients // CLIENTS_PER_DISPLAY))
        ]
        kiosk = container.devices.register_device(context, site.site_id, "kiosk", "Kiosk")
        urls = stack.enter_context(
            running_stack(stack_services, container, workdir, options.api_processes)
        )
        warn(f"websocket: {len(urls)} API processes up; signing in ...")

        def device_token(registered: Any) -> str:
            body = {"device_id": str(registered.device.id), "secret": registered.secret}
            return sign_in(urls[0], "auth/device/", body, "access_token")

        display_tokens = [device_token(display) for display in displays]
        kiosk_token = device_token(kiosk)
        lanes = []
        for number, seat in enumerate(site.agents):
            body = {"email": seat.email, "password": AGENT_PASSWORD}
            agent_token = sign_in(urls[0], "auth/", body, "token")
            base = f"{urls[number % len(urls)]}/api/v1/tenants/{site.slug}/"
            http = stack.enter_context(httpx.Client(base_url=base, trust_env=False, timeout=30))
            lanes.append(Lane(HttpCommands(http, kiosk_token, agent_token), str(seat.queue_id)))
        configs = client_configs(site, urls, display_tokens, options)
        warn(f"websocket: connecting {options.clients} clients ...")
        processes = stack.enter_context(client_processes(configs, workdir))
        connected = [process.said() for process in processes]
        for said in connected:
            if said["type"] != "connected":
                raise BenchmarkError(f"clients could not connect: {said}")
        connect_seconds = max(s["finished"] for s in connected) - min(
            s["started"] for s in connected
        )
        warn(f"websocket: {options.clients} clients connected in {connect_seconds:.1f} s")
        spy = PublishSpy(stack_services.redis_url, site.tenant_id, site.queue_ids)
        stack.callback(spy.close)
        warm_up(lanes, processes, workdir, options.rate)
        achieved, failed = [], 0
        all_commands: list[dict[str, Any]] = []
        to_redis: list[Run] = []
        for run in range(options.runs):
            commands, load = run_lanes(lanes, options.rate, options.seconds)
            achieved.append(load.achieved_rate)
            failed += load.failed
            missing = drain(processes, _command_file(workdir, commands, run), DRAIN_TIMEOUT_SECONDS)
            all_commands += json.loads(_command_file(workdir, commands, run, spy).read_text())
            to_redis.append(_to_redis(commands, spy))
            warn(
                f"  websocket run {run + 1}: {len(commands)} commands, {missing} pairs missing;"
                f" return to publication p50 {to_redis[-1].p50:.1f} ms"
            )
        everything = workdir / "commands-all.json"
        everything.write_text(json.dumps(all_commands))
        reports = []
        for process in processes:
            out = workdir / f"report-{process.number}.json"
            process.ask(f"report {everything} {out}")
            reports.append(json.loads(out.read_text()))
        runs = _merge_runs(reports, options.runs, "latencies")
        from_redis = _merge_runs(reports, options.runs, "from_redis")
        baselines = asyncio.run(
            redis_baseline(
                stack_services.redis_url,
                options.clients,
                len(site.queue_ids),
                options.rate,
                options.seconds,
                options.runs,
            )
        )
        each = [seconds for said in connected for seconds in said["each"]]
        missed = [
            count for report in reports for r in report["runs"].values() for count in r["missed"]
        ]
        lossy = max(
            sum(
                sum(1 for count in report["runs"][str(run)]["missed"] if count)
                for report in reports
            )
            for run in range(options.runs)
        )
        return WebSocketResult(
            runs=runs,
            to_redis=to_redis,
            from_redis=from_redis,
            baselines=baselines,
            connect_seconds=connect_seconds,
            connect_each=each,
            missed_per_client_max=max(missed, default=0),
            clients_missing=lossy,
            reconnects=sum(report["reconnects"] for report in reports),
            closed_for_good=[code for report in reports for code in report["closed_for_good"]],
            achieved=achieved,
            failed=failed,
            clients=options.clients,
        )


def warm_up(
    lanes: Sequence[Lane], processes: Sequence[ClientProcess], folder: Path, rate: float
) -> None:
    """Short runs until every client gets every change (the gateway's group has joined). If
    some never do, the runs go on: their misses are part of the report."""
    for attempt in range(WARM_UP_ATTEMPTS):
        commands, _ = run_lanes(lanes, rate, 2.0)
        missing = drain(processes, _command_file(folder, commands, -1 - attempt), 10.0)
        if missing == 0:
            return
        warn(f"  warm-up {attempt + 1}: {missing} (client, change) pairs missing")
    warn("  some clients still miss changes after the warm-up; measuring anyway")


def _merge_runs(reports: Sequence[dict[str, Any]], runs: int, name: str) -> list[Run]:
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


def _to_redis(commands: Sequence[Command], spy: PublishSpy) -> Run:
    """Command return to the publication of its change, per command."""
    values, missed = [], 0
    for command in commands:
        published = spy.published_at(command)
        if published is None:
            missed += 1
        else:
            values.append(published - command.returned_at)
    return Run(values, missed)


def report_websockets(options: argparse.Namespace, result: WebSocketResult) -> None:
    """Part 3 of the report."""
    achieved = Spread.of(result.achieved)
    print(
        f"3. Commit to WebSocket: {result.clients} display clients in {options.client_processes}"
        f" processes over {options.api_processes} API processes and {options.queues} queues"
        f" ({options.rate:g} commands/s asked, {achieved:.1f} done, {result.failed} failed;"
        f" {options.seconds:g} s x {len(result.runs)} runs; medians (min-max)):"
    )
    print(latency_line("command return → client", result.runs))
    print(latency_line("  return → publication on Redis", result.to_redis))
    print(latency_line("  publication on Redis → client", result.from_redis))
    print(latency_line(f"raw PUBLISH → {result.clients} subscribers", result.baselines))
    each = result.connect_each
    print(
        f"  connecting {result.clients} clients (ticket, handshake, snapshot): "
        f"{result.connect_seconds:.1f} s in all; per client p50 "
        f"{percentile_ms(each, 0.5):.0f} ms, p99 {percentile_ms(each, 0.99):.0f} ms"
    )
    print(
        f"  changes missed (must be 0): at most {result.missed_per_client_max} per client and"
        f" run; {result.clients_missing} of {result.clients} clients missed some in a run;"
        f" reconnects {result.reconnects}; closed for good {result.closed_for_good}"
    )
