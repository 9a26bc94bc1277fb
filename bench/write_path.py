"""Write-path benchmark: ticket cycles per second through the application layer and over HTTP.

One *cycle* is the life of a ticket: issue, call next, start, close (four commands). The script
measures cycles per second and the p50/p99 latency of a cycle with 1, 4 and 8 concurrent callers,

- through the application layer (``SmartQueue`` in this process, one thread per caller) and
  through HTTP (one ``smartqueue api`` subprocess, one thread and keep-alive client per caller);
- in two layouts: ``distinct`` (each caller has its own queue and service, so callers share no
  aggregate) and ``shared`` (every caller issues into and calls from one queue, so they race for
  it and the losers retry: optimistic concurrency);

and, in the same run and at the same concurrency, a baseline of raw psycopg one-row
``INSERT`` + ``COMMIT`` transactions into a plain table (one connection per thread). Two more
baseline variants add what the ``eventsourcing`` PostgreSQL recorder adds to each write
transaction: ``LOCK TABLE ... IN EXCLUSIVE MODE``, then also ``NOTIFY`` (DESIGN.md §10-11).
Comparing them with the plain insert isolates the cost of that serialisation from Python's.
A second table splits each operation's CPU between this process, the API server and PostgreSQL.

Over HTTP, the same table has the HTTP baseline: ``bench/minimal_insert_app.py``, a Litestar app
whose one endpoint does one ``INSERT`` + ``COMMIT``, served like ``smartqueue api`` (uvicorn, the
same ``--api-workers``), POSTed to by the same number of keep-alive clients; HTTP rows are shown as
a share of it. The API runs with high sign-in limits: every run signs its fresh agents in.

Two more sections run with ``smartqueue projections`` following the same database (issue 16):

- ``cpu``: four agents cycle tickets on one queue over HTTP; the CPU of each process tree (the API's
  workers, the projections role, the PostgreSQL postmaster and all its backends, and the Redis
  server) is read from ``/proc`` before and after, once every read model has caught up with the
  log's head (a read model left behind fails the run): milliseconds of CPU per cycle;
- ``open-loop``: call-next over HTTP on a fixed schedule of ``--rate`` commands/s dealt over
  ``--lanes`` threads (each its own agent, queue and connection; queues filled beforehand, each
  called ticket marked no-show), latency measured from each command's scheduled time
  (``bench/open_loop.py``): p50/p99/max.

The report ends with issue 16's targets, each beside its figure, met or not, and the load average.

Every run gets a fresh tenant (agents, queues); the whole invocation gets a fresh database (on an
embedded PostgreSQL by default, or on ``--database-url``'s local server), dropped at the end,
also on Ctrl-C. Each cell runs ``--repeat`` times, repeats interleaved; medians are reported.

Usage::

    .venv/bin/python bench/write_path.py [--duration 5] [--repeat 3] [--callers 1,4,8]
        [--layers app,http] [--layouts distinct,shared] [--database-url URL] [--api-workers 2]
        [--sections matrix,cpu,open-loop] [--rate 200] [--lanes 8]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

if __package__ in (None, ""):
    # Run as ``python bench/write_path.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import (
    ApiServer,
    Database,
    machine_context,
    open_container,
    reporting_failure,
    run_interruptibly,
    running_api,
    running_minimal_insert_app,
    scratch_database,
    usable_cores,
    warn,
)
from bench.harness import CpuMeter, RunStats, measure
from bench.targets import Target, print_targets
from bench.workloads import (
    BASELINES,
    COMMANDS_PER_CYCLE,
    PLAIN_BASELINE,
    HttpCaller,
    HttpInserter,
    LostSaveCounter,
    RawInserter,
    app_cycle,
    build_world,
    create_baseline_table,
)
from bench.write_path_roles import (
    SECTIONS,
    RoleResults,
    RoleRun,
    print_role_report,
    role_targets,
    run_roles,
)
from infrastructure.container import Container

LAYERS = ("app", "http")
LAYOUTS = ("distinct", "shared")
HTTP_INSERT = "http insert"
"""The HTTP baseline: ``bench/minimal_insert_app.py`` served as the API is, one row per POST."""

# -- options -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What to measure, for how long, and against which PostgreSQL."""

    duration: float
    repeat: int
    callers: tuple[int, ...]
    layers: tuple[str, ...]
    layouts: tuple[str, ...]
    baselines: tuple[str, ...]
    database_url: str | None
    api_workers: int
    pool_size: int
    sections: tuple[str, ...]
    rate: float
    lanes: int


def _subset_of(allowed: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type for a comma-separated subset of ``allowed``, in the order given."""

    def parse(text: str) -> tuple[str, ...]:
        chosen = tuple(part.strip() for part in text.split(",") if part.strip())
        if not chosen or any(part not in allowed for part in chosen):
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {allowed}")
        return chosen

    return parse


def _positive_ints(text: str) -> tuple[int, ...]:
    """An argparse type for ``1,4,8``."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers")
    return values


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description="Ticket cycles/s and latency through the app layer and HTTP, vs raw inserts."
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (5)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; median shown (3)")
    parser.add_argument("--callers", type=_positive_ints, default=(1, 4, 8), help="1,4,8")
    parser.add_argument("--layers", type=_subset_of(LAYERS), default=LAYERS, help="app,http")
    parser.add_argument(
        "--layouts", type=_subset_of(LAYOUTS), default=LAYOUTS, help="distinct,shared"
    )
    parser.add_argument(
        "--baselines",
        type=_subset_of(tuple(BASELINES)),
        default=tuple(BASELINES),
        help="insert,insert+lock,insert+lock+notify (the plain insert is always measured)",
    )
    parser.add_argument(
        "--database-url",
        help="a local PostgreSQL server to create the scratch database on "
        "(default: start an embedded PostgreSQL)",
    )
    parser.add_argument(
        "--sections",
        type=_subset_of(SECTIONS),
        default=SECTIONS,
        help="matrix (the table above), cpu (CPU per cycle with the projections running), "
        "open-loop (call-next on a fixed schedule); all by default",
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="open loop: call-next commands per second (200)"
    )
    parser.add_argument(
        "--lanes", type=int, default=8, help="open loop: client threads, agents and queues (8)"
    )
    parser.add_argument("--api-workers", type=int, default=2, help="smartqueue api processes (2)")
    parser.add_argument(
        "--pool-size", type=int, default=20, help="SMARTQUEUE_DB_POOL_SIZE per process (20)"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.repeat < 1 or args.api_workers < 1 or args.pool_size < 2:
        parser.error("--duration, --repeat and --api-workers must be positive, --pool-size >= 2")
    if args.rate <= 0 or args.lanes < 1:
        parser.error("--rate and --lanes must be positive")
    # The plain insert is what every ratio is relative to: always measured, always first.
    baselines = (PLAIN_BASELINE, *(name for name in args.baselines if name != PLAIN_BASELINE))
    return Options(
        duration=args.duration,
        repeat=args.repeat,
        callers=args.callers,
        layers=args.layers,
        layouts=args.layouts,
        baselines=baselines,
        database_url=args.database_url,
        api_workers=args.api_workers,
        pool_size=args.pool_size,
        sections=args.sections,
        rate=args.rate,
        lanes=args.lanes,
    )


# -- the runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One row of the report: a layer (or ``baseline``), a layout (or variant), a concurrency."""

    callers: int
    layer: str
    layout: str

    def __str__(self) -> str:
        return f"{self.layer} {self.layout} x{self.callers}"


@dataclass
class Bench:
    """Everything the runs need, alive for the whole invocation."""

    options: Options
    database: Database
    container: Container
    api: ApiServer | None
    insert_app: ApiServer | None
    lost_saves: LostSaveCounter = field(init=False)
    meter: CpuMeter = field(init=False)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.lost_saves = LostSaveCounter(self.container.app)
        self.meter = CpuMeter(self.database.name, self.api.pid if self.api else None)

    def cells(self) -> list[Cell]:
        """The runs of one repeat, in order: per concurrency, the baselines then the layers."""
        cells = []
        for callers in self.options.callers:
            cells += [Cell(callers, "baseline", name) for name in self.options.baselines]
            if self.insert_app is not None:
                cells.append(Cell(callers, "baseline", HTTP_INSERT))
            cells += [
                Cell(callers, layer, layout)
                for layer in self.options.layers
                for layout in self.options.layouts
            ]
        return cells

    def run(self, cell: Cell) -> RunStats:
        """One timed run of ``cell``."""
        if cell.layer == "baseline":
            return self.run_baseline(cell.layout, cell.callers)
        if cell.layer == "app":
            return self.run_app_layer(cell.layout, cell.callers)
        return self.run_http_layer(cell.layout, cell.callers)

    def _measure(self, operations: Sequence[Callable[[], None]]) -> RunStats:
        return measure(operations, self.options.duration, self.stop, self.meter)

    def run_baseline(self, variant: str, callers: int) -> RunStats:
        """Raw insert transactions, one connection per thread; or POSTs to the minimal app."""
        if variant == HTTP_INSERT:
            return self.run_http_baseline(callers)
        inserters: list[RawInserter] = []
        try:
            for _ in range(callers):
                inserters.append(RawInserter(self.database.url, BASELINES[variant]))
            return self._measure(inserters)
        finally:
            for inserter in inserters:
                inserter.close()

    def run_http_baseline(self, callers: int) -> RunStats:
        """One insert per POST to the minimal Litestar app, one keep-alive client per thread;
        the app's processes are the 'api' of the CPU table on this row."""
        assert self.insert_app is not None
        meter = CpuMeter(self.database.name, self.insert_app.pid)
        inserters = [HttpInserter(self.insert_app.base_url) for _ in range(callers)]
        try:
            return measure(inserters, self.options.duration, self.stop, meter)
        finally:
            for inserter in inserters:
                inserter.close()

    def run_app_layer(self, layout: str, callers: int) -> RunStats:
        """Ticket cycles through the application in this process, one thread per agent."""
        world = build_world(self.container, layout, callers, make_available=True)
        cycles = [
            partial(app_cycle, self.container, world.tenant_id, caller) for caller in world.callers
        ]
        before = self.lost_saves.count
        stats = self._measure(cycles)
        # The count covers every cycle begun: the warm-ups (one per caller) and failed ones too.
        cycles_begun = stats.operations + stats.failures + callers
        lost_per_cycle = (self.lost_saves.count - before) / cycles_begun
        return replace(stats, lost_saves_per_operation=lost_per_cycle)

    def run_http_layer(self, layout: str, callers: int) -> RunStats:
        """Ticket cycles over HTTP; the world is made in-process, the agents sign in over HTTP."""
        assert self.api is not None
        world = build_world(self.container, layout, callers, make_available=False)
        clients: list[HttpCaller] = []
        try:
            for caller in world.callers:
                clients.append(HttpCaller(self.api.base_url, world.slug, caller))
                clients[-1].set_available()
            return self._measure([client.cycle for client in clients])
        finally:
            for client in clients:
                client.close()


@dataclass
class CellResults:
    """Every completed run of one cell, and why the others failed."""

    runs: list[RunStats] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def run_matrix(bench: Bench) -> dict[Cell, CellResults]:
    """Every cell ``repeat`` times, repeats outermost so slow drifts in load hit every cell."""
    results = {cell: CellResults() for cell in bench.cells()}
    total = len(results) * bench.options.repeat
    done = 0
    for repeat in range(1, bench.options.repeat + 1):
        for cell, cell_results in results.items():
            done += 1
            label = f"[{done}/{total}] repeat {repeat}: {cell}"
            try:
                stats = bench.run(cell)
            except Exception as exc:
                cell_results.failures.append(f"{type(exc).__name__}: {exc}")
                warn(f"{label}: FAILED {exc}")
                continue
            cell_results.runs.append(stats)
            warn(f"{label}: {progress_note(stats)}")
    return results


def progress_note(stats: RunStats) -> str:
    """One run in a few words, for the progress lines."""
    note = (
        f"{stats.rate:,.1f}/s, p50 {stats.p50_ms:.2f} ms, busy {stats.cpu.machine_busy_cores:.2f}"
    )
    if stats.failures:
        note += f", {stats.failures} failed ({stats.first_error})"
    return note


# -- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The medians of one cell's runs (failures are summed)."""

    ops_per_second: float
    p50_ms: float
    p99_ms: float
    lost_saves_per_cycle: float | None
    failures: int
    bench_cpu_ms: float
    api_cpu_ms: float | None
    postgres_cpu_ms: float
    machine_busy_cores: float


def _median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def summarise(results: CellResults) -> Summary | None:
    """Medians over the completed runs, or None if none completed."""
    runs = results.runs
    if not runs:
        return None
    return Summary(
        ops_per_second=statistics.median(run.rate for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        lost_saves_per_cycle=_median(run.lost_saves_per_operation for run in runs),
        failures=sum(run.failures for run in runs),
        bench_cpu_ms=statistics.median(run.cpu.bench_ms for run in runs),
        api_cpu_ms=_median(run.cpu.api_ms for run in runs),
        postgres_cpu_ms=statistics.median(run.cpu.postgres_ms for run in runs),
        machine_busy_cores=statistics.median(run.cpu.machine_busy_cores for run in runs),
    )


@dataclass(frozen=True)
class Table:
    """A fixed-width text table: column titles and their format specs."""

    columns: tuple[tuple[str, str], ...]

    def line(self, values: Sequence[str]) -> str:
        return "  ".join(
            f"{value:{spec}}" for value, (_, spec) in zip(values, self.columns, strict=True)
        )

    def header(self) -> str:
        titles = self.line([title for title, _ in self.columns])
        return f"{titles}\n{'-' * len(titles)}"


KEY_COLUMNS = (("layer", "<8"), ("layout", "<18"), ("callers", ">7"))
THROUGHPUT = Table(
    (
        *KEY_COLUMNS,
        ("cycles/s", ">9"),
        ("cmds/s", ">7"),
        ("p50 ms", ">7"),
        ("p99 ms", ">8"),
        ("vs insert", ">9"),
        ("lost saves/cycle", ">16"),
        ("failed", ">6"),
    )
)
CPU = Table(
    (
        *KEY_COLUMNS,
        ("bench cpu", ">9"),
        ("api cpu", ">7"),
        ("pg cpu", ">6"),
        ("total", ">6"),
        ("machine busy cores", ">18"),
    )
)


def _key(cell: Cell) -> list[str]:
    return [cell.layer, cell.layout, str(cell.callers)]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def throughput_row(cell: Cell, summary: Summary, plain_insert: Summary | None) -> str:
    """One line of the main table; ``cmds/s`` is inserts/s on baseline rows."""
    is_baseline = cell.layer == "baseline"
    commands = summary.ops_per_second * (1 if is_baseline else COMMANDS_PER_CYCLE)
    ratio = f"{commands / plain_insert.ops_per_second:.0%}" if plain_insert else "-"
    cycles = "-" if is_baseline else f"{summary.ops_per_second:,.1f}"
    return THROUGHPUT.line(
        [
            *_key(cell),
            cycles,
            f"{commands:,.0f}",
            _ms(summary.p50_ms),
            _ms(summary.p99_ms),
            ratio,
            _ms(summary.lost_saves_per_cycle),
            str(summary.failures),
        ]
    )


def cpu_row(cell: Cell, summary: Summary) -> str:
    """One line of the CPU table: milliseconds per operation, by process."""
    # The API (or, on its row, the minimal insert app) is idle on the other rows.
    serves_http = cell.layer == "http" or cell.layout == HTTP_INSERT
    api_ms = summary.api_cpu_ms if serves_http else None
    total = summary.bench_cpu_ms + (api_ms or 0) + summary.postgres_cpu_ms
    return CPU.line(
        [
            *_key(cell),
            _ms(summary.bench_cpu_ms),
            _ms(api_ms),
            _ms(summary.postgres_cpu_ms),
            _ms(total),
            f"{summary.machine_busy_cores:.2f}",
        ]
    )


def print_grouped(
    table: Table, summaries: dict[Cell, Summary | None], row: Callable[[Cell, Summary], str]
) -> None:
    """Print ``table`` with one block of rows per concurrency."""
    print(table.header())
    previous = None
    for cell, summary in summaries.items():
        if previous is not None and cell.callers != previous:
            print()
        previous = cell.callers
        failed = table.line([*_key(cell), "no run", *[""] * (len(table.columns) - 4)])
        print(row(cell, summary) if summary else failed)


def print_report(
    summaries: dict[Cell, Summary | None], results: dict[Cell, CellResults], options: Options
) -> None:
    """Both tables, the scaling of each row with callers, and anything that went wrong."""
    cores = usable_cores()

    def with_ratio(cell: Cell, summary: Summary) -> str:
        plain = summaries.get(Cell(cell.callers, "baseline", PLAIN_BASELINE))
        return throughput_row(cell, summary, plain)

    print_grouped(THROUGHPUT, summaries, with_ratio)
    print(
        f"\nMedians of {options.repeat} runs of {options.duration:g} s each. A cycle = issue, call"
        " next, start, close = 4 commands; cmds/s = 4 x cycles/s\n(inserts/s on baseline rows)."
        " 'vs insert' = cmds/s / plain-insert commits/s at the same number of callers.\n"
        "p50/p99: latency of one cycle (app/http rows) or one insert transaction (baseline rows).\n"
        "lost saves/cycle: event-store writes refused because another caller saved the same\n"
        "aggregate first; each one re-runs the whole command (counted in this process only, so\n"
        "'-' over HTTP). failed: cycles that raised (e.g. Contention after 25 lost races), summed."
    )
    print(f"\nCPU milliseconds per operation (cycle or insert), by process; {cores} cores in all:")
    print_grouped(CPU, summaries, cpu_row)
    print(
        "\nbench = this process (the application's threads on app rows; HTTP or insert clients\n"
        "otherwise); api = the smartqueue api server; pg = PostgreSQL backends of the scratch\n"
        "database. machine busy cores = all CPU use on the machine during the run, other jobs'\n"
        "included: near the core count means the run was CPU-bound."
    )
    print_scaling(summaries, options)
    print_http_baseline(summaries)
    print_problems(results)


def _commands_per_second(summary: Summary | None, cell: Cell) -> float | None:
    if summary is None:
        return None
    return summary.ops_per_second * (1 if cell.layer == "baseline" else COMMANDS_PER_CYCLE)


def _ratio(summaries: dict[Cell, Summary | None], cell: Cell, base: Cell) -> float | None:
    """``cell``'s commands/s over ``base``'s, or None when either did not run."""
    numerator = _commands_per_second(summaries.get(cell), cell)
    denominator = _commands_per_second(summaries.get(base), base)
    return numerator / denominator if numerator is not None and denominator else None


def print_http_baseline(summaries: dict[Cell, Summary | None]) -> None:
    """HTTP commands/s as a share of the minimal Litestar insert app's requests/s."""
    lines = []
    for cell in summaries:
        ratio = _ratio(summaries, cell, Cell(cell.callers, "baseline", HTTP_INSERT))
        if cell.layer == "http" and ratio is not None:
            lines.append(f"  http  {cell.layout:<18} x{cell.callers}: {ratio:.0%}")
    if lines:
        print(f"\nHTTP commands/s as a share of the '{HTTP_INSERT}' row at the same callers:")
        print("\n".join(lines))


def matrix_targets(summaries: dict[Cell, Summary | None], options: Options) -> list[Target]:
    """The throughput targets, at the largest number of callers measured (8 by default)."""
    callers = max(options.callers)
    insert = Cell(callers, "baseline", PLAIN_BASELINE)
    distinct, shared = Cell(callers, "app", "distinct"), Cell(callers, "app", "shared")
    http = Cell(callers, "http", "distinct")
    shared_summary = summaries.get(shared)
    workers = options.api_workers
    return [
        Target(
            f"app distinct x{callers}, vs raw insert",
            _ratio(summaries, distinct, insert),
            0.5,
            "%",
            False,
        ),
        Target(
            f"app shared x{callers}, vs app distinct",
            _ratio(summaries, shared, distinct),
            0.8,
            "%",
            False,
        ),
        Target(
            f"app shared x{callers}, failed cycles (503)",
            None if shared_summary is None else float(shared_summary.failures),
            0,
            "",
            True,
        ),
        Target(
            f"http distinct x{callers}, {workers} api workers, vs {HTTP_INSERT}",
            _ratio(summaries, http, Cell(callers, "baseline", HTTP_INSERT)),
            0.5,
            "%",
            False,
        ),
    ]


def print_scaling(summaries: dict[Cell, Summary | None], options: Options) -> None:
    """How each row's throughput grows from the fewest to the most callers: a serialised
    writer stays near x1.0 however many callers it gets."""
    low, high = min(options.callers), max(options.callers)
    if low == high:
        return
    print(f"\nThroughput at {high} callers / at {low} caller(s) (x1.0 = no gain from concurrency):")
    kinds = dict.fromkeys((cell.layer, cell.layout) for cell in summaries)
    for layer, layout in kinds:
        first = summaries.get(Cell(low, layer, layout))
        last = summaries.get(Cell(high, layer, layout))
        if first and last and first.ops_per_second > 0:
            factor = last.ops_per_second / first.ops_per_second
            print(f"  {layer:<8}  {layout:<18}  x{factor:.2f}")


def print_problems(results: dict[Cell, CellResults]) -> None:
    """Runs that failed outright, and runs with failed cycles or callers that gave up."""
    lines = []
    for cell, cell_results in results.items():
        lines += [f"  {cell}: run failed: {failure}" for failure in cell_results.failures]
        for run in cell_results.runs:
            if run.failures:
                gave_up = (
                    f", {run.callers_gave_up} caller(s) gave up" if run.callers_gave_up else ""
                )
                lines.append(
                    f"  {cell}: {run.failures} failed cycle(s){gave_up}: {run.first_error}"
                )
    if lines:
        print("\nProblems:")
        print("\n".join(lines))


# -- main ----------------------------------------------------------------------------------------


def print_context(context: list[tuple[str, str]], options: Options) -> None:
    """The machine and software the numbers come from, and how they were taken."""
    print("SmartQueue write-path benchmark")
    settings = (
        f"{options.duration:g} s per run, median of {options.repeat} runs, "
        f"event-store pool {options.pool_size} per process, api workers {options.api_workers}, "
        f"recorder {os.environ.get('SMARTQUEUE_RECORDER', 'stock')}"
    )
    for name, value in [*context, ("settings", settings)]:
        print(f"  {name:<13} {value}")
    print(flush=True)


def benchmark(options: Options) -> None:
    """Set everything up, run the matrix, print the report; tear everything down on the way out.

    Exit callbacks run in reverse: the API server stops, the application closes its
    connections, the scratch database is dropped, the embedded server stops, files go.
    """
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), f"remove {workdir}"))
        database = stack.enter_context(scratch_database(options.database_url, workdir))
        context = machine_context(database)
        print_context(context, options)
        container = open_container(database, workdir / "home", options.pool_size)
        stack.callback(reporting_failure(container.close, "close the application's connections"))
        create_baseline_table(database.url)
        roles = [section for section in options.sections if section != "matrix"]
        api = None
        if "http" in options.layers or roles:
            api = stack.enter_context(
                running_api(database.url, workdir, options.pool_size, options.api_workers)
            )
        bench = Bench(options, database, container, api, None)
        results = {}
        if "matrix" in options.sections:
            results = run_matrix_with_baseline_app(bench, workdir)
        role_results = RoleResults()
        if roles and api is not None:
            run = RoleRun(
                container,
                database,
                api,
                workdir,
                options.duration,
                options.repeat,
                options.rate,
                options.lanes,
                bench.stop,
            )
            role_results = run_roles(run, roles)
        summaries = {cell: summarise(cell_results) for cell, cell_results in results.items()}
        if results:
            print_report(summaries, results, options)
        print_role_report(role_results)
        targets = matrix_targets(summaries, options) + role_targets(role_results, options.rate)
        print_targets(targets, " ".join(f"{value:.2f}" for value in os.getloadavg()))


def run_matrix_with_baseline_app(bench: Bench, workdir: Path) -> dict[Cell, CellResults]:
    """The matrix, with the minimal insert app running only meanwhile: its connections would
    crowd the server's ``max_connections`` once the projections start."""
    options = bench.options
    with contextlib.ExitStack() as stack:
        if "http" in options.layers:
            bench.insert_app = stack.enter_context(
                running_minimal_insert_app(
                    bench.database.url, workdir, options.pool_size, options.api_workers
                )
            )
        return run_matrix(bench)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and report; 130 when interrupted (after cleaning up)."""
    options = parse_options(argv)
    return run_interruptibly(
        lambda: benchmark(options), "subprocesses stopped and the scratch database dropped"
    )


if __name__ == "__main__":
    sys.exit(main())
