"""Call-next over HTTP on an open-loop schedule: command *k* is due at ``start + k / rate``
whether or not earlier ones were slow, and its latency is measured from that due time, so a
stall shows in the figures instead of slowing the schedule down (no coordinated omission).

The schedule is dealt round-robin to ``lanes`` threads; each lane has its own agent, queue and
keep-alive connection. Every lane's queue is filled in advance (through the application layer)
with more tickets than the schedule will call, so it never runs dry. After each call the lane
marks the ticket no-show (one command, not timed) so its agent is free for the next call; that
command is the lane's time, so a slow one makes the next call late, and that lateness counts.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from application.context import CommandContext
from bench.environment import ApiServer
from bench.harness import BenchmarkError, percentile_ms
from bench.workloads import Caller, HttpCaller, World, build_world
from infrastructure.container import Container

SPARE_TICKETS_PER_LANE = 5
START_DELAY_SECONDS = 0.2


@dataclass(frozen=True)
class OpenLoopResult:
    """One schedule's run: latencies (from the due time) of the call-next commands."""

    rate: float
    lanes: int
    scheduled: int
    latencies: list[float]
    failures: int
    first_error: str | None
    elapsed: float

    @property
    def achieved(self) -> float:
        """Call-next commands completed per second."""
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """A failed command counts as infinitely late: failures cannot improve the figure."""
        return percentile_ms([*self.latencies, *[math.inf] * self.failures], fraction)

    @property
    def max_ms(self) -> float:
        return max(self.latencies, default=math.nan) * 1000


def fill_queues(container: Container, world: World, tickets_per_queue: int) -> None:
    """Issue ``tickets_per_queue`` tickets into each caller's queue, one thread per queue."""
    context = CommandContext.system(world.tenant_id, reason="bench")

    def fill(caller: Caller) -> None:
        for _ in range(tickets_per_queue):
            container.tickets.issue_ticket(context, caller.queue_id)

    with ThreadPoolExecutor(len(world.callers), thread_name_prefix="fill") as pool:
        list(pool.map(fill, world.callers))


@dataclass
class Lane:
    """One thread's share of the schedule: every ``lanes``-th command from ``first``."""

    client: HttpCaller
    first: int
    latencies: list[float]
    failures: int = 0
    first_error: str | None = None

    def run(self, start: float, rate: float, scheduled: int, step: int, stop: threading.Event):
        for index in range(self.first, scheduled, step):
            due = start + index / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            if stop.is_set():
                return
            try:
                called = self.client.call_next()
                if called is None:
                    raise BenchmarkError(
                        "call-next found the queue empty (it should never run dry)"
                    )
                self.latencies.append(time.perf_counter() - due)
                self.client.mark_no_show(called)
            except Exception as exc:
                self.failures += 1
                self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"


def run_open_loop(
    container: Container,
    api: ApiServer,
    rate: float,
    duration: float,
    lanes: int,
    stop: threading.Event,
) -> OpenLoopResult:
    """``rate`` call-next commands a second for ``duration`` s, dealt over ``lanes`` threads."""
    scheduled = max(1, round(rate * duration))
    world = build_world(container, "distinct", lanes, make_available=False)
    fill_queues(container, world, math.ceil(scheduled / lanes) + SPARE_TICKETS_PER_LANE)
    clients = [HttpCaller(api.base_url, world.slug, caller) for caller in world.callers]
    try:
        for client in clients:
            client.set_available()
        runs = [Lane(client, index, []) for index, client in enumerate(clients)]
        start = time.perf_counter() + START_DELAY_SECONDS
        with ThreadPoolExecutor(lanes, thread_name_prefix="lane") as pool:
            futures = [pool.submit(lane.run, start, rate, scheduled, lanes, stop) for lane in runs]
            for future in futures:
                future.result()
        elapsed = time.perf_counter() - start
    finally:
        for client in clients:
            client.close()
    errors = [lane.first_error for lane in runs if lane.first_error]
    return OpenLoopResult(
        rate=rate,
        lanes=lanes,
        scheduled=scheduled,
        latencies=[latency for lane in runs for latency in lane.latencies],
        failures=sum(lane.failures for lane in runs),
        first_error=errors[0] if errors else None,
        elapsed=elapsed,
    )
