"""Rebuilding the tickets read model from zero yields exactly the rows incremental processing
wrote, batch sizes and interleavings notwithstanding; the swapped-in tables keep their indexes,
row-level security and grants."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import read_models
from infrastructure.postgres.row_security import READER_ROLE
from infrastructure.postgres.tables import ticket_queues, tickets, waiting_line
from tests.integration.projection_support import log_positions, tracked
from tests.integration.roles_support import every_tenant, owner_engine
from tests.integration.ticket_history import HISTORY, Floor, tickets_runner

pytestmark = pytest.mark.integration

TABLES = (tickets, waiting_line, ticket_queues)


def _rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the model's tables, in key order."""
    with every_tenant(engine) as connection:
        return {
            table.name: [
                dict(row)
                for row in connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in TABLES
        }


def _rebuild(container, batch_size: int) -> int:
    return rebuild(
        read_models()["tickets"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=batch_size,
    )


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=HISTORY, batch_size=st.integers(min_value=1, max_value=40))
def test_a_rebuild_from_zero_yields_exactly_the_incremental_rows(own_container, steps, batch_size):
    container = own_container
    floor = Floor.open(container)

    def project(size: int) -> None:
        tickets_runner(container, batch_size=size).catch_up(container.read_engine)

    floor.play(steps, project)
    project(batch_size)
    incremental = _rows(container.read_engine)
    assert tracked(container.read_engine, "tickets") == log_positions(container)[-1]
    assert len(incremental["tickets"]) >= len(floor.tickets)

    position = _rebuild(container, max(2, batch_size // 2))
    assert position == log_positions(container)[-1]
    assert _rows(container.read_engine) == incremental


def test_the_rebuilt_tables_keep_their_index_names_security_and_grants(own_container):
    container = own_container
    Floor.open(container).play([("issue", 0, 1, 0)], lambda _: None)
    _rebuild(container, 100)
    with container.read_engine.connect() as connection:
        for table in TABLES:
            indexes = set(
                connection.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = :t"),
                    {"t": table.name},
                ).scalars()
            )
            secured = connection.execute(
                text(
                    "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = :t"
                ),
                {"t": table.name},
            ).scalar()
            may_read = connection.execute(
                text("SELECT has_table_privilege(:role, :t, 'SELECT')"),
                {"role": READER_ROLE, "t": table.name},
            ).scalar()
            assert indexes == {index.name for index in table.indexes} | {f"{table.name}_pkey"}
            assert secured
            assert may_read
        leftovers = connection.execute(
            text("SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_\\_rebuild%'")
        ).scalar()
    assert leftovers == 0
