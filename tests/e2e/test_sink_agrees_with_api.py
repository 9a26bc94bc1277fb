"""The sink agrees with the API: a generated month of activity (two sites in two time zones,
four queues, five agents, a few thousand tickets called, served, no-shown, cancelled,
abandoned and transferred, agents' shifts with a break, feedback given on the day or later,
both sites' DST changes inside it) is relayed by ``smartqueue relay`` to a real broker and
copied by ``smartqueue analytics-sink``, SIGKILLed three times meanwhile. Then the headline KPI
query of docs/analytics-sink.md, run on the sink's DuckDB file, gives the figures ``GET
analytics/kpis/?group_by=queue,day`` gives for the same range, counted by a ``smartqueue
projections`` process: counts exactly, means to floating-point rounding, and percentiles within
the sketch's relative accuracy (see ``assert_same_percentile``). The page's feedback query gives
that response's feedback figures, and its time-on-duty query ``group_by=agent,day``'s time on
duty, served and utilisation. The file holds every event of the notification log once.

The month is played through the application layer with a controlled clock (as the KPI unit
tests do), straight into a database of the module's own, in simulated-time order: a heap of
arrivals, agents' next actions and customers leaving."""

from __future__ import annotations

import os
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from application.analytics import RELATIVE_ACCURACY
from infrastructure.container import Container
from tests.e2e.conftest import running_api
from tests.e2e.sink_month import Clock, Month, set_up_floor
from tests.e2e.support import (
    ReadModels,
    Session,
    login,
    process_env,
    smartqueue_executable,
)
from tests.e2e.test_analytics_sink_kills import Sink, eventually, sink_status
from tests.integration.conftest import fresh_container, on_own_broker
from tests.integration.kafka_support import RelayProcess, wait_relayed
from tests.integration.test_analytics_sink import log_event_ids
from tests.unit.test_analytics_sink_kpis import kpis
from tests.unit.test_analytics_sink_more_kpis import run

pytestmark = pytest.mark.e2e

kafka_bootstrap = on_own_broker()

SEED = 1717
KILLS = 3
# Played: a day either side of the range asked for, so the range's edges are tested too.
PLAYED_FROM, PLAYED_TO = date(2026, 10, 4), date(2026, 11, 4)
RANGE_FROM, RANGE_TO = date(2026, 10, 5), date(2026, 11, 3)
COUNTS = ("served", "no_shows", "cancellations", "waits_counted", "services_counted")
PERCENTILES = ("p50", "p90", "p95")
FEEDBACK = (
    "csat_responses",
    "csat_mean",
    "csat_satisfied",
    "csat_satisfied_rate",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "nps",
)
DUTY = (
    "on_duty_seconds",
    "paused_seconds",
    "served",
    "services_counted",
    "utilisation",
    "served_per_agent_hour",
)


@pytest.fixture(scope="module")
def container(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """A database of the module's own: its log is exactly what the sink must hold, and the
    thousands of events the month writes stay out of the session's log."""
    yield from fresh_container(database_url, redis_url, tmp_path_factory)


def api_kpis(session: Session, by: str = "queue") -> dict[tuple[str, date], dict[str, Any]]:
    """Every row of ``GET analytics/kpis/`` for the range by ``by`` (queue or agent) and day,
    page by page."""
    rows: dict[tuple[str, date], dict[str, Any]] = {}
    params: dict[str, str] = {
        "from": RANGE_FROM.isoformat(),
        "to": RANGE_TO.isoformat(),
        "group_by": f"{by},day",
        "limit": "200",
    }
    while True:
        response = session.get("analytics/kpis/", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["relative_accuracy"] == RELATIVE_ACCURACY
        for item in body["items"]:
            rows[(str(item[f"{by}_id"]), date.fromisoformat(item["day"]))] = item
        if body["next_cursor"] is None:
            return rows
        params["cursor"] = body["next_cursor"]


def assert_same_percentile(api: float | None, sink: float | None, what: str) -> None:
    """Both sides define a group's p-quantile as the value at rank ``floor(q * (n - 1))`` of its
    sorted durations (docs/analytics.md): the SQL picks that very value, the API returns
    DDSketch's estimate of it, whose relative accuracy (1 %) bounds the error by 1 % of the
    value. Interpolated percentiles (DuckDB's ``quantile_cont``) or DuckDB's ``quantile_disc``
    (which rounds ``q * (n - 1)`` to the nearest rank rather than down) would not be bounded so:
    two neighbouring waits of a queue-day are often minutes apart."""
    if sink is None or api is None:
        assert api is None and sink is None, what
        return
    assert abs(api - sink) <= RELATIVE_ACCURACY * sink + 1e-9, f"{what}: API {api}, sink {sink}"


def close_to(value: float | None) -> Any:
    """The API's figure to floating-point rounding (``None`` exactly: nothing to divide by)."""
    return None if value is None else pytest.approx(value, rel=1e-9)


def test_the_sinks_kpis_for_a_month_equal_the_apis_though_the_sink_was_killed_three_times(
    container: Container,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    rng = random.Random(SEED)
    clock = Clock(datetime(2026, 10, 2, tzinfo=UTC))
    real_clock = container.app.clock
    container.app.clock = clock
    feedbacks = container.feedback
    assert feedbacks is not None
    real_feedback_clock, feedbacks.clock = feedbacks.clock, clock
    database = tmp_path / "analytics" / "events.duckdb"
    sink_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_HOME": str(tmp_path),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "INFO",
        "SMARTQUEUE_ANALYTICS_SINK_GROUP": f"agree-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_ANALYTICS_SINK_STATUS_SECONDS": "0.5",
        "SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE": "100",  # many transactions: kills land in them
    }
    projections: subprocess.Popen | None = None
    relay = RelayProcess(container.database_url, kafka_bootstrap, tmp_path)
    sinks = [Sink(sink_env, tmp_path)]

    status = partial(sink_status, database)

    try:
        floor = set_up_floor(container, clock)
        month = Month(container, floor, clock, SEED)
        assert relay.wait_active(60), relay.log.read_text(errors="replace")
        days = [PLAYED_FROM + timedelta(days=n) for n in range((PLAYED_TO - PLAYED_FROM).days + 1)]
        kill_after = set(rng.sample(range(4, len(days) - 2), KILLS))
        for index, day in enumerate(days):
            month.plan_day(day)
            month.plan_shifts(day)
            month.play(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1))
            if index in kill_after:
                sink = sinks[-1]
                eventually(partial(sink.stores, database), 90, f"the sink stores ({sink.log})")
                sink.kill()
                sinks.append(Sink(sink_env, tmp_path))  # as a supervisor would
        month.play(datetime.max.replace(tzinfo=UTC))
        generated = time.monotonic() - began
        assert month.tickets > 500
        # The read models catch up once the month is played: in batches, the CPU the month's
        # commands, the relay and the sinks leave on a loaded machine is small.
        with (tmp_path / "projections.stderr").open("wb") as projections_log:
            projections = subprocess.Popen(
                [smartqueue_executable(), "projections"],
                env=process_env(container.database_url, tmp_path, redis_url),
                stdout=subprocess.DEVNULL,
                stderr=projections_log,
            )

        head = container.app.recorder.max_notification_id() or 0
        assert wait_relayed(container.read_engine, container, head, timeout=90)
        expected = log_event_ids(container)

        def caught_up() -> bool:
            now = status()
            return now is not None and now.events >= len(expected) and now.behind == 0

        eventually(caught_up, 120, f"the sink caught up ({sinks[-1].log})")
        sinks[-1].stop()  # DuckDB: no reader beside the writing process
        with (
            running_api(container.database_url, redis_url, tmp_path) as base_url,
            httpx.Client(base_url=base_url, timeout=60.0) as client,
        ):
            ReadModels(container.database_url).caught_up("kpis", timeout=120)
            admin = login(client, floor.tenant, floor.tenant.admin_email)
            from_api = api_kpis(admin)
            agents_from_api = api_kpis(admin, "agent")
    finally:
        container.app.clock = real_clock
        feedbacks.clock = real_feedback_clock
        for sink in sinks:
            sink.stop()
        relay.stop()
        if projections is not None:
            projections.terminate()
            projections.wait(15)

    assert [sink.process.returncode for sink in sinks[:-1]] == [-9] * KILLS
    connection = duckdb.connect(str(database), read_only=True)
    try:
        stored = [row[0] for row in connection.execute("SELECT event_id FROM events").fetchall()]
        from_sink = {
            key: row
            for key, row in kpis(connection, RANGE_FROM, RANGE_TO).items()
            if str(row["tenant_id"]) == floor.tenant.id
        }
        feedback_from_sink = {
            key: row
            for key, row in run(connection, "feedback-sql", RANGE_FROM, RANGE_TO).items()
            if str(row["tenant_id"]) == floor.tenant.id
        }
        duty_from_sink = {
            key: row
            for key, row in run(connection, "duty-sql", RANGE_FROM, RANGE_TO).items()
            if str(row["tenant_id"]) == floor.tenant.id
        }
    finally:
        connection.close()
    print(
        f"\nsink agrees with API: {month.tickets} tickets, {month.feedbacks} feedbacks,"
        f" {len(expected)} events, generated in"
        f" {generated:.1f} s; {len(from_api)} queue-days, {len(duty_from_sink)} agent-days;"
        f" whole test"
        f" {time.monotonic() - began:.1f} s"
    )
    # No event lost or doubled, through three kills.
    assert len(stored) == len(set(stored)), "an event stored twice"
    assert set(stored) == set(expected)

    assert set(from_sink) == set(from_api)
    assert len(from_api) == len(floor.queues) * ((RANGE_TO - RANGE_FROM).days + 1)
    transfers = 0
    for key, sink_row in sorted(from_sink.items()):
        api_row = from_api[key]
        what = f"queue {key[0]} on {key[1]}"
        # The API's arrivals are every visit begun, transfers in under the channel `transfer`;
        # the SQL counts those apart, as transferred_in.
        transferred_in = api_row["arrivals_by_channel"].get("transfer", 0)
        assert (api_row["arrivals"] - transferred_in, transferred_in) == (
            sink_row["arrivals"],
            sink_row["transferred_in"],
        ), what
        transfers += transferred_in
        assert {name: api_row[name] for name in COUNTS} == {
            name: sink_row[name] for name in COUNTS
        }, what
        for kind in ("wait", "service"):
            mean = f"{kind}_mean_seconds"
            assert api_row[mean] == pytest.approx(sink_row[mean], rel=1e-9), f"{what}: {mean}"
            for percentile in PERCENTILES:
                name = f"{kind}_{percentile}_seconds"
                assert_same_percentile(api_row[name], sink_row[name], f"{what}: {name}")
    # The month had every outcome, in the range asked for.
    totals = {name: sum(row[name] for row in from_sink.values()) for name in COUNTS}
    assert min(totals.values()) > 0 and transfers > 0, (totals, transfers)

    # Feedback: the queue-days some was given on, with the API's figures.
    rated = {key for key, row in from_api.items() if row["csat_responses"] or row["nps_responses"]}
    assert set(feedback_from_sink) == rated
    for key, sink_row in sorted(feedback_from_sink.items()):
        api_row = from_api[key]
        expected_figures = {name: close_to(api_row[name]) for name in FEEDBACK}
        assert {name: sink_row[name] for name in FEEDBACK} == expected_figures, key
    counted = (
        "csat_responses",
        "csat_satisfied",
        "nps_responses",
        "nps_promoters",
        "nps_detractors",
    )
    answered = {name: sum(row[name] for row in feedback_from_sink.values()) for name in counted}
    assert min(answered.values()) > 0, answered
    # Time on duty: every agent-day with duty or a visit called, with the API's figures (the
    # API's row of the visits no agent called has no counterpart).
    worked = {
        key
        for key, row in agents_from_api.items()
        if key[0] != "None" and (row["on_duty_seconds"] or row["arrivals"])
    }
    assert set(duty_from_sink) == worked
    assert len(worked) >= len(floor.agents) * ((RANGE_TO - RANGE_FROM).days + 1)
    for key, sink_row in sorted(duty_from_sink.items()):
        api_row = agents_from_api[key]
        expected_figures = {name: close_to(api_row[name]) for name in DUTY}
        assert {name: sink_row[name] for name in DUTY} == expected_figures, key
    paused = sum(row["paused_seconds"] for row in duty_from_sink.values())
    assert paused > 0
