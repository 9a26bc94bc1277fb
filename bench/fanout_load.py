"""The fan-out benchmark's command load and what it measures.

A *lane* is one queue and the agent serving it, cycling through issue, call, start and close, so
every command changes one ticket that displays and consumers see: status ``waiting``, ``called``,
``serving``, ``completed``. Lanes are driven at a steady rate by ``bench.lag.drive_load`` (open
loop: command *k* is due at ``start + k / rate``). Each command is logged with the moment it
returned (``time.monotonic()``: CLOCK_MONOTONIC on Linux, the same clock in every process of the
machine, so arrivals timed in other processes compare with it).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bench.harness import percentile_ms

CYCLE = ("waiting", "called", "serving", "completed")
EVENT_OF_STATUS = {
    "waiting": "Ticket.Issued",
    "called": "Ticket.Called",
    "serving": "Ticket.ServiceStarted",
    "completed": "Ticket.Completed",
}


RANK = {status: rank for rank, status in enumerate(CYCLE)}


def first_showing(seen: Mapping[str, float] | None, status: str) -> float | None:
    """When a ticket was first shown in ``status`` or a later status of the cycle, given when it
    was first shown in each status. A live change carries the ticket as the read models had it
    when the gateway read it, which may be later than its event (a ticket issued and called
    within one gateway batch comes as ``called`` twice): from the first change showing S or
    later, a display shows the effect of the command that left it in S."""
    if not seen:
        return None
    rank = RANK[status]
    times = [at for shown, at in seen.items() if RANK.get(shown, -1) >= rank]
    return min(times, default=None)


@dataclass(frozen=True)
class Command:
    """A command that returned: the ticket it changed, the status it left, and when."""

    ticket_id: str
    status: str
    queue_id: str
    returned_at: float


class TicketCommands(Protocol):
    """The four commands of a lane, through the application layer or HTTP."""

    def issue(self, queue_id: str) -> str: ...

    def call(self, queue_id: str) -> str | None: ...

    def start(self, ticket_id: str) -> None: ...

    def close(self, ticket_id: str) -> None: ...


@dataclass
class Lane:
    """One queue and its agent: issue, call, start, close, again. A failed command is tried
    again at the lane's next slot (``drive_load`` counts the failure)."""

    commands: TicketCommands
    queue_id: str
    log: list[Command] = field(default_factory=list)
    phase: int = 0
    ticket_id: str | None = None

    def step(self) -> None:
        status = CYCLE[self.phase]
        if status == "waiting":
            self.ticket_id = self.commands.issue(self.queue_id)
        elif status == "called":
            called = self.commands.call(self.queue_id)
            if called != self.ticket_id:
                raise RuntimeError(f"called {called}, expected {self.ticket_id}")
        elif status == "serving":
            self.commands.start(str(self.ticket_id))
        else:
            self.commands.close(str(self.ticket_id))
        returned_at = time.monotonic()
        self.log.append(Command(str(self.ticket_id), status, self.queue_id, returned_at))
        self.phase = (self.phase + 1) % len(CYCLE)


# -- figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One run's latencies (seconds) and what never arrived."""

    latencies: Sequence[float]
    missed: int
    achieved_rate: float = 0.0
    failed: int = 0

    @property
    def p50(self) -> float:
        return percentile_ms(self.latencies, 0.5)

    @property
    def p99(self) -> float:
        return percentile_ms(self.latencies, 0.99)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("nan")) * 1000


def latencies(commands: Iterable[Command], arrivals: Mapping[tuple[str, str], float]) -> Run:
    """Arrival minus return for each command seen; the others are missed."""
    values, missed = [], 0
    for command in commands:
        arrived = arrivals.get((command.ticket_id, command.status))
        if arrived is None:
            missed += 1
        else:
            values.append(arrived - command.returned_at)
    return Run(values, missed)


@dataclass(frozen=True)
class Spread:
    """The median of several runs' figures, and their range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def __format__(self, spec: str) -> str:
        spec = spec or ",.1f"
        return f"{self.median:{spec}} ({self.low:{spec}}-{self.high:{spec}})"


def latency_line(label: str, runs: Sequence[Run], extra: str = "") -> str:
    """``label  p50 … p99 … max …`` as medians of the runs with min-max."""
    p50 = Spread.of([run.p50 for run in runs])
    p99 = Spread.of([run.p99 for run in runs])
    worst = Spread.of([run.worst for run in runs])
    samples = sum(len(run.latencies) for run in runs)
    missed = sum(run.missed for run in runs)
    return (
        f"  {label:<34} p50 {p50} ms · p99 {p99} ms · max {worst} ms"
        f"  [{samples:,} samples, {missed} missed{extra}]"
    )
