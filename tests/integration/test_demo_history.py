"""The demo tenant's past week (``smartqueue dev``, ``create-tenant --with-demo-data``): played
through the commands at past instants, it gives the KPI read model a figure for every open day
before today, and leaves today as the README's walk-through expects it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from application.analytics import kpi_range
from application.context import CommandContext
from application.demo import DEMO_FEEDBACK, DemoData, seed_demo_data
from application.demo_history import DEMO_HOURS, SettableClock, open_days
from domain.hours import WEEKDAYS
from infrastructure.container import Container, build_container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.migration import migrate
from tests.conftest import owner_url, runtime_database, settings_for

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
HISTORY_DAYS = 7


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture(scope="module")
def container(
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    clock: SettableClock,
) -> Iterator[Container]:
    """The contexts built on the settable clock, as the seeding process builds them, over a
    database of the module's own (its KPI projection is caught up here, by this test alone)."""
    name = f"sq_demo_{uuid.uuid4().hex[:12]}"
    server_url = owner_url(database_url)
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    home: Path = tmp_path_factory.mktemp("demo-history-home")
    settings = settings_for(runtime_database(server_url, name), home, redis_url)
    migrate(settings)
    built = build_container(settings, clock=clock)
    yield built
    built.close()
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def seeded(container: Container, clock: SettableClock) -> tuple[CommandContext, DemoData]:
    slug = f"demo-{uuid.uuid4().hex[:10]}"
    tenant_id, _ = container.identity.create_tenant(
        CommandContext.system(None), slug, "Demo", f"admin@{slug}.com", "admin123"
    )
    context = CommandContext.system(tenant_id)
    demo = seed_demo_data(container, context, slug, HISTORY_DAYS, clock)
    runner = ProjectionRunner(
        read_models()["kpis"], container.app.recorder, container.app.mapper, batch_size=500
    )
    runner.catch_up(container.read_engine)
    return context, demo


def test_every_open_day_of_the_past_week_has_arrivals_services_and_waits(
    container: Container, seeded: tuple[CommandContext, DemoData]
):
    context, demo = seeded
    today = datetime.now(UTC).astimezone(PARIS).date()
    expected = [day for day, _, _ in open_days(today, HISTORY_DAYS, PARIS)]
    week = kpi_range(
        str(today - timedelta(days=HISTORY_DAYS)), str(today - timedelta(days=1)), "day"
    )

    rows = container.analytics.get_kpis(context.tenant_id, week).items

    assert demo.history is not None
    assert demo.history.days == expected
    assert [date.fromisoformat(str(row.day)) for row in rows] == expected
    for row in rows:
        assert row.arrivals > 0 and row.served > 0, row
        assert row.waits_counted > 0 and row.wait_p50_seconds is not None, row
        assert row.services_counted > 0 and row.service_mean_seconds is not None, row
        assert row.sla_counted > 0, row
        assert row.arrivals_by_channel.get("kiosk", 0) > 0, row
    assert sum(row.transferred_out for row in rows) >= len(rows) - 1  # a transfer or two a day
    assert sum(row.served for row in rows) == demo.history.served
    # Answered through the real feedback links, on the day of the visit.
    assert sum(row.csat_responses for row in rows) == demo.history.feedback > 0
    for row in rows:  # the agents' day: on duty from opening to the last visit, a lunch break
        assert row.on_duty_seconds and row.on_duty_seconds > 2 * 3 * 3600, row
        assert row.utilisation is not None and 0 < row.utilisation <= 1, row
        assert row.paused_seconds is not None, row
        assert (row.paused_seconds > 0) == (row.day is not None and row.day.weekday() < 5), row
    closed = [day for day in WEEKDAYS if not DEMO_HOURS[day]]
    assert all(WEEKDAYS[day.weekday()] not in closed for day in demo.history.days)


def test_today_is_the_walk_throughs_as_without_history(
    container: Container, seeded: tuple[CommandContext, DemoData]
):
    context, demo = seeded
    today = str(datetime.now(UTC).astimezone(PARIS).date())

    [row] = container.analytics.get_kpis(context.tenant_id, kpi_range(today, today, "")).items
    # Today holds the demo's own visits only: three served (B), four waiting, one checked in.
    assert (row.arrivals, row.served, row.no_shows, row.transferred_out) == (8, 3, 0, 0)
    first = container.tickets.get_next_waiting(context.tenant_id, demo.fifo_queue_id, 5)
    assert [ticket.number for ticket in first] == ["A-001", "A-002"]
    assert demo.waiting_tickets == ["A-001", "A-002", "B-004", "B-005"]
    assert demo.appointments[0].ticket == "B-006"
    for index, agent in enumerate(demo.agents, start=1):
        view = container.staffing.get_agent(context.tenant_id, agent.agent_id)
        assert (view.status, view.counter, view.current_ticket_id) == (
            "available",
            str(index),
            None,
        )
    assert container.feedback is not None
    given = [container.feedback.get_feedback(context.tenant_id, fid) for fid in demo.feedback_ids]
    assert [(f.csat, f.nps) for f in given] == [(csat, nps) for csat, nps, _, _ in DEMO_FEEDBACK]
    assert all(f.submitted_at.astimezone(PARIS).date().isoformat() == today for f in given)
    # The walk-through's ticket: the next Accounts number of today, whatever the past days used.
    issued = container.tickets.issue_ticket(context, demo.fifo_queue_id, channel="kiosk")
    assert (issued.number, issued.position) == ("A-003", 3)
    assert issued.issued_at.astimezone(PARIS).date().isoformat() == today
