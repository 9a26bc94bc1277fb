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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from application.context import CommandContext
from bench.environment import free_port, warn
from bench.fanout_load import Command, Lane, Run, Spread, latency_line
from bench.fanout_stack import (
    AGENT_PASSWORD,
    Services,
    open_site,
    running_api,
    running_role,
    services,
)
from bench.harness import BenchmarkError, percentile_ms
from bench.http_commands import HttpCommands, sign_in
from bench.kafka_latency import run_lanes, wait_relay_idle
from bench.live_spy import PublishSpy
from bench.redis_fanout import redis_baseline
from bench.ws_fleet import (
    CLIENTS_PER_DISPLAY,
    DRAIN_TIMEOUT_SECONDS,
    ClientProcess,
    client_configs,
    client_processes,
    command_file,
    drain,
    merge_runs,
)
from infrastructure.container import Container

WARM_UP_ATTEMPTS = 3


@dataclass
class WebSocketResult:
    """What part 3 measured."""

    runs: list[Run]
    to_redis: list[Run]
    from_redis: list[Run]
    baselines: list[Run]
    connect_seconds: float
    connect_each: list[float]
    connect_retries: int
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
    the set-up's events, so the gateway's group starts at the topics' ends after them."""
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
            missing = drain(processes, command_file(workdir, commands, run), DRAIN_TIMEOUT_SECONDS)
            all_commands += json.loads(command_file(workdir, commands, run, spy).read_text())
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
        runs = merge_runs(reports, options.runs, "latencies")
        from_redis = merge_runs(reports, options.runs, "from_redis")
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
            connect_retries=sum(said["retries"] for said in connected),
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
        missing = drain(processes, command_file(folder, commands, -1 - attempt), 10.0)
        if missing == 0:
            return
        warn(f"  warm-up {attempt + 1}: {missing} (client, change) pairs missing")
    warn("  some clients still miss changes after the warm-up; measuring anyway")


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
        f"{percentile_ms(each, 0.5):.0f} ms, p99 {percentile_ms(each, 0.99):.0f} ms;"
        f" {result.connect_retries} attempts failed and were retried"
    )
    print(
        f"  changes missed (must be 0): at most {result.missed_per_client_max} per client and"
        f" run; {result.clients_missing} of {result.clients} clients missed some in a run;"
        f" reconnects {result.reconnects}; closed for good {result.closed_for_good}"
    )
