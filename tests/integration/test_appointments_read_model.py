"""The appointments read model on real PostgreSQL: incremental batches of any size write each
appointment as its aggregate holds it, a rebuild from zero writes the same rows and keeps the
table's index, row-level security and grants; and the worker's sweep marks no-show, once, a
booking whose delayed job never ran."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text

from application.appointment_sweep import AppointmentNoShowSweep
from application.check_in import CheckIns
from domain.appointments import Appointment
from domain.booking import AppointmentError
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.row_security import READER_ROLE
from infrastructure.postgres.tables import appointments
from infrastructure.read_models.appointments import PostgresPastAppointments
from tests.integration.conftest import on_own_database
from tests.integration.projection_support import log_positions, tracked
from tests.integration.roles_support import every_tenant, owner_engine
from tests.integration.test_appointment_no_show import Ahead, next_slot

pytestmark = pytest.mark.integration

container, world = on_own_database()

PARIS = ZoneInfo("Europe/Paris")


def _rows(engine: Engine) -> list[dict[str, Any]]:
    with every_tenant(engine) as connection:
        query = select(appointments).order_by(appointments.c.appointment_id)
        return [dict(row) for row in connection.execute(query).mappings()]


def _catch_up(container, batch_size: int = 50) -> None:
    model = read_models()["appointments"]
    runner = ProjectionRunner(
        model, container.app.recorder, container.app.mapper, batch_size=batch_size
    )
    runner.catch_up(container.read_engine)


def _start(days_ahead: int, minutes: int) -> datetime:
    day = date.today() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=PARIS) + timedelta(minutes=minutes)


def test_batches_and_a_rebuild_write_each_appointment_as_its_aggregate_holds_it(container, world):
    booking = container.appointments
    container.catalogue.change_service(world.context, world.service_id, booking={"capacity": 2})
    chance = random.Random(19)
    made: list = []
    live: list = []
    for step in range(60):
        choice = chance.random()
        try:
            if choice < 0.6 or not live:
                start = _start(chance.randint(1, 3), 15 * chance.randint(0, 3))
                view = booking.book_appointment(
                    world.context, world.site_id, world.service_id, start
                )
                made.append(view.id)
                live.append(view.id)
            elif choice < 0.8:
                booking.cancel_appointment(world.context, live.pop(chance.randrange(len(live))))
            else:
                start = _start(chance.randint(1, 3), 15 * chance.randint(0, 3))
                booking.reschedule_appointment(world.context, chance.choice(live), start)
        except AppointmentError:
            pass  # a full slot: no event
        if step % 7 == 0:
            _catch_up(container, chance.randint(1, 20))
    _catch_up(container, 5)
    incremental = _rows(container.read_engine)
    assert tracked(container.read_engine, "appointments") == log_positions(container)[-1]

    expected = {}
    for appointment_id in made:
        aggregate = container.app.find(Appointment, appointment_id)
        expected[appointment_id] = (
            str(aggregate.status),
            aggregate.day,
            aggregate.start,
            aggregate.code,
            aggregate.cancelled_at,
        )
    mine = {
        row["appointment_id"]: row for row in incremental if row["tenant_id"] == world.tenant_id
    }
    assert {
        key: (row["status"], row["day"].isoformat(), row["start"], row["code"], row["cancelled_at"])
        for key, row in mine.items()
    } == expected
    assert sum(status in ("booked", "rescheduled") for status, *_ in expected.values()) == len(live)

    position = rebuild(
        read_models()["appointments"],
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
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'appointments'")
            ).scalars()
        )
        secured = connection.execute(
            text(
                "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
                "WHERE relname = 'appointments'"
            )
        ).scalar()
        may_read = connection.execute(
            text("SELECT has_table_privilege(:role, 'appointments', 'SELECT')"),
            {"role": READER_ROLE},
        ).scalar()
    assert indexes == {index.name for index in appointments.indexes} | {"appointments_pkey"}
    assert secured and may_read


def test_the_sweep_marks_a_booking_whose_job_never_ran_no_show_once(container, world):
    context = world.context
    container.catalogue.change_service(
        context, world.service_id, booking={"capacity": 3, "late_minutes": 0}
    )
    start = next_slot() + timedelta(days=4)  # clear of the other test's days
    # The booking sends its delayed job to Redis, where no jobs worker of this test runs it.
    missed = container.appointments.book_appointment(
        context, world.site_id, world.service_id, start
    )
    came = container.appointments.book_appointment(context, world.site_id, world.service_id, start)
    shift = start.astimezone(UTC) - datetime.now(UTC) + timedelta(seconds=1)  # window closed
    ahead = Ahead(container.app, shift)
    CheckIns(Ahead(container.app, shift - timedelta(seconds=2))).check_in_appointment(
        context, came.id
    )
    sweep = AppointmentNoShowSweep(
        PostgresPastAppointments(container.read_engine), CheckIns(ahead), ahead.clock
    )

    def status() -> str:
        return container.appointments.get_appointment(world.tenant_id, missed.id).status

    sweep.sweep()  # (the other test's appointments are past their windows too)
    assert status() == "booked"  # the read model has not seen the booking yet
    _catch_up(container)
    assert sweep.sweep() >= 1
    assert status() == "no_show"
    assert sweep.sweep() == 0  # the read model still shows it live: the command refuses
    _catch_up(container)
    assert sweep.sweep() == 0

    events = [type(e).__qualname__ for e in container.app.events.get(missed.id)]
    assert events == ["Appointment.Booked", "Appointment.MarkedNoShow"]
    marked = list(container.app.events.get(missed.id))[-1]
    assert marked.metadata["actor_role"] == "system"
    statuses = {row["appointment_id"]: row["status"] for row in _rows(container.read_engine)}
    assert (statuses[missed.id], statuses[came.id]) == ("no_show", "checked_in")
