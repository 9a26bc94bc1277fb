"""The availability read model on real PostgreSQL: incremental batches of any size write the
aggregates' taken counts (bookings and holds, released or booked), a rebuild from zero writes
exactly the same rows, and the rebuilt table keeps its index, row-level security and grants."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text

from domain.booking import AppointmentError
from domain.schedule import Schedule
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.row_security import READER_ROLE
from infrastructure.postgres.tables import availability
from tests.integration.projection_support import log_positions, tracked
from tests.integration.roles_support import every_tenant, owner_engine

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")


def _rows(engine: Engine) -> list[dict[str, Any]]:
    with every_tenant(engine) as connection:
        query = select(availability).order_by(availability.c.schedule_id)
        return [dict(row) for row in connection.execute(query).mappings()]


def _runner(container, batch_size: int) -> ProjectionRunner:
    model = read_models()["availability"]
    return ProjectionRunner(
        model, container.app.recorder, container.app.mapper, batch_size=batch_size
    )


def _start(days_ahead: int, minutes: int) -> datetime:
    day = date.today() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=PARIS) + timedelta(minutes=minutes)


def test_batches_and_a_rebuild_write_the_aggregates_taken_counts(own_container, own_world):
    container, world = own_container, own_world
    appointments = container.appointments
    container.catalogue.change_service(world.context, world.service_id, booking={"capacity": 2})
    chance = random.Random(15)
    live = []
    holds = []  # (schedule id, hold id)
    for step in range(80):
        choice = chance.random()
        try:
            if choice >= 0.9 and holds:
                schedule_id, hold_id = holds.pop(chance.randrange(len(holds)))
                if chance.random() < 0.5:
                    appointments.release_hold(world.context, schedule_id, hold_id)
                else:
                    live.append(appointments.book_hold(world.context, schedule_id, hold_id).id)
            elif choice >= 0.75:
                start = _start(chance.randint(1, 3), 15 * chance.randint(0, 3))
                held = appointments.hold_slot(world.context, world.site_id, world.service_id, start)
                holds.append((held.schedule_id, held.id))
            elif choice < 0.45 or not live:
                start = _start(chance.randint(1, 3), 15 * chance.randint(0, 3))
                live.append(
                    appointments.book_appointment(
                        world.context, world.site_id, world.service_id, start
                    ).id
                )
            elif choice < 0.6:
                appointments.cancel_appointment(
                    world.context, live.pop(chance.randrange(len(live)))
                )
            else:
                start = _start(chance.randint(1, 3), 15 * chance.randint(0, 3))
                appointments.reschedule_appointment(world.context, chance.choice(live), start)
        except AppointmentError:
            pass  # a full slot: no event
        if step % 7 == 0:
            _runner(container, chance.randint(1, 20)).catch_up(container.read_engine)
    _runner(container, 5).catch_up(container.read_engine)
    incremental = _rows(container.read_engine)
    assert tracked(container.read_engine, "availability") == log_positions(container)[-1]

    expected = {}
    for days_ahead in (1, 2, 3):
        day = (date.today() + timedelta(days=days_ahead)).isoformat()
        schedule = container.app.find(
            Schedule, Schedule.create_id(world.site_id, world.service_id, day)
        )
        if schedule is not None:
            expected[schedule.id] = schedule.taken_by_slot()
    assert {row["schedule_id"]: row["taken"] for row in incremental} == expected
    assert sum(sum(taken.values()) for taken in expected.values()) == len(live) + len(holds)

    position = rebuild(
        read_models()["availability"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=3,
    )
    assert position == log_positions(container)[-1]
    assert _rows(container.read_engine) == incremental

    with container.read_engine.connect() as connection:
        indexes = set(
            connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'availability'")
            ).scalars()
        )
        secured = connection.execute(
            text(
                "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
                "WHERE relname = 'availability'"
            )
        ).scalar()
        may_read = connection.execute(
            text("SELECT has_table_privilege(:role, 'availability', 'SELECT')"),
            {"role": READER_ROLE},
        ).scalar()
    assert indexes == {index.name for index in availability.indexes} | {"availability_pkey"}
    assert secured and may_read
