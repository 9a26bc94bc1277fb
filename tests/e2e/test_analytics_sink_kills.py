"""``smartqueue analytics-sink`` SIGKILLed three times while events flow, and restarted each
time as a supervisor would: at the end its DuckDB file holds every event of the store's
notification log exactly once (no loss, no double), and ``analytics-sink status`` says it is
caught up.

Real processes on a database and a broker of this module's own: ``smartqueue relay`` publishes
the log a command load writes; the sink is configured by environment variables only."""

from __future__ import annotations

import os
import random
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import duckdb
import pytest

from infrastructure.analytics.status import SinkStatus, read_status
from infrastructure.container import Container
from tests.e2e.support import smartqueue_executable
from tests.integration.conftest import TenantWorld, fresh_container, new_world, on_own_broker
from tests.integration.kafka_support import RelayProcess, command_load, wait_relayed
from tests.integration.test_analytics_sink import log_event_ids

pytestmark = pytest.mark.e2e

kafka_bootstrap = on_own_broker()
KILLS = 3
SEED = 17
# The command load lasts at least this long, so that there are events to lose or double around
# the kills however fast the sink starts (it takes its partitions within seconds).
MIN_LOAD_SECONDS = 20.0


@pytest.fixture(scope="module")
def container(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """A database of the module's own: its log is exactly what the sink must hold."""
    yield from fresh_container(database_url, redis_url, tmp_path_factory)


@pytest.fixture
def world(container: Container) -> TenantWorld:
    return new_world(container, "s", "Sink tenant")


def sink_status(database: Path) -> SinkStatus | None:
    """The sink's last status beside ``database``; ``None``: none yet, or replaced while read."""
    try:
        return read_status(database)
    except (OSError, ValueError):
        return None


class Sink:
    """A ``smartqueue analytics-sink`` subprocess logging to a file of its own."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.log = folder / f"analytics-sink-{uuid.uuid4().hex[:6]}.log"
        self.started = time.time()
        self.ended: float | None = None
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [smartqueue_executable(), "analytics-sink"], env=env, stdout=output, stderr=output
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def ran(self) -> float:
        return (self.ended or time.time()) - self.started

    def stores(self, database: Path) -> bool:
        """This sink wrote a status saying it stored events itself."""
        now = sink_status(database)
        return now is not None and now.at.timestamp() > self.started and now.written > 0

    def kill(self) -> None:
        """SIGKILL: no clean-up, whatever transaction is open is lost."""
        self.process.kill()
        self.process.wait(10)
        self.ended = time.time()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.ended = time.time()


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def test_the_sink_killed_three_times_while_events_flow_loses_and_doubles_nothing(
    container: Container, world: TenantWorld, kafka_bootstrap: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    rng = random.Random(SEED)
    database = tmp_path / "analytics" / "events.duckdb"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_HOME": str(tmp_path),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "INFO",
        "SMARTQUEUE_ANALYTICS_SINK_GROUP": f"sink-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_ANALYTICS_SINK_STATUS_SECONDS": "0.5",
        "SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE": "50",  # many transactions: kills land in them
    }
    recorder = container.app.recorder

    status = partial(sink_status, database)

    relay = RelayProcess(container.database_url, kafka_bootstrap, tmp_path)
    sinks = [Sink(env, tmp_path)]
    try:
        assert relay.wait_active(60), relay.log.read_text(errors="replace")
        with command_load(world, rate=15) as load:
            load_began = time.monotonic()
            for _ in range(KILLS):
                sink = sinks[-1]
                what = f"the sink stores as events flow ({sink.log})"
                eventually(partial(sink.stores, database), 90, what)
                time.sleep(rng.uniform(0.0, 0.5))  # somewhere in the sink's work
                sink.kill()
                sinks.append(Sink(env, tmp_path))  # as a supervisor would
            last = sinks[-1]
            eventually(partial(last.stores, database), 90, f"the last sink stores ({last.log})")
            time.sleep(max(0.0, MIN_LOAD_SECONDS - (time.monotonic() - load_began)))
        assert not load.failures, load.failures[:3]
        head = recorder.max_notification_id() or 0
        assert wait_relayed(container.read_engine, container, head, timeout=60)
        expected = log_event_ids(container)

        def caught_up() -> bool:
            now = status()
            return now is not None and now.events >= len(expected) and now.behind == 0

        eventually(caught_up, 120, f"the sink caught up ({sinks[-1].log})")
        final = status()
        assert final is not None
        # A restarted sink resumes at the offsets in DuckDB: it reads again nothing it stored (a
        # sink that started over from the partitions' beginnings would count thousands).
        assert final.duplicates < 50, final.describe()
        probe = subprocess.run(
            [smartqueue_executable(), "analytics-sink", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.returncode == 0, probe.stdout + probe.stderr
        assert "behind 0 records" in probe.stdout
    finally:
        for sink in sinks:
            sink.stop()
        relay.stop()

    print(
        f"\nanalytics sink: {len(expected)} events, {len(sinks) - 1} kills, sink runs"
        f" {[round(sink.ran, 1) for sink in sinks]} s; whole test {time.monotonic() - began:.1f} s"
    )
    assert len(sinks) == KILLS + 1
    assert [sink.process.returncode for sink in sinks[:-1]] == [-9] * KILLS
    for sink in sinks:  # each took every partition itself (no group: no rebalance to wait for)
        assert "analytics sink partitions assigned" in sink.text(), sink.text()[-2000:]
    connection = duckdb.connect(str(database), read_only=True)
    try:
        rows = connection.execute("SELECT event_id FROM events").fetchall()
        stored_ids = [row[0] for row in rows]
        rejected = connection.execute("SELECT count(*) FROM sink_rejected").fetchone()
    finally:
        connection.close()
    assert len(stored_ids) == len(set(stored_ids)), "an event stored twice"
    missing = set(expected) - set(stored_ids)
    unknown = set(stored_ids) - set(expected)
    assert not missing and not unknown, f"{len(missing)} missing, {len(unknown)} unknown"
    assert len(expected) > 300  # the kills happened while events flowed
    assert rejected == (0,)
