"""The directory read model on PostgreSQL: after any history of queue and agent commands, after a
rebuild from zero and after its migration on a database with history, ``list_queues`` and
``list_agents`` page through exactly what loading the tenant and every aggregate says; a cursor
that is not the previous page's is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from application.paging import PageRequest, encode_cursor
from domain.agents import Agent
from domain.errors import InvalidInput
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.migration import MIGRATIONS
from infrastructure.postgres.tables import directory_agents, directory_queues
from tests.directory_history import HISTORY, Directory
from tests.integration.projection_support import log_positions, tracked
from tests.integration.roles_support import every_tenant, owner_engine

pytestmark = pytest.mark.integration


def _project(container: Any, batch_size: int = 1000) -> None:
    runner = ProjectionRunner(
        read_models()["directory"],
        container.app.recorder,
        container.app.mapper,
        batch_size=batch_size,
    )
    runner.catch_up(container.read_engine)


def _rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    with every_tenant(engine) as connection:
        return {
            table.name: [
                dict(row)
                for row in connection.execute(select(table).order_by(table.c.listed_at)).mappings()
            ]
            for table in (directory_queues, directory_agents)
        }


def _walk(list_page: Any, limit: int) -> list[Any]:
    """Every item of a list, following the cursor page after page."""
    items, cursor = [], None
    while True:
        page = list_page(PageRequest(cursor, limit))
        assert len(page.items) <= limit
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return items


def _lists(tenant: Directory, limit: int) -> tuple[list[Any], ...]:
    app, tenant_id = tenant.app, tenant.tenant_id
    by_site = [
        _walk(lambda page, site=site_id: app.queues.list_queues(tenant_id, page, site), limit)
        for site_id in tenant.site_ids
    ]
    return (
        _walk(lambda page: app.queues.list_queues(tenant_id, page), limit),
        _walk(lambda page: app.staffing.list_agents(tenant_id, page), limit),
        *by_site,
    )


def _replayed(tenant: Directory) -> tuple[list[Any], ...]:
    by_site = [tenant.replayed_queues(site_id) for site_id in tenant.site_ids]
    return (tenant.replayed_queues(), tenant.replayed_agents(), *by_site)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=HISTORY, batch_size=st.integers(1, 40), limit=st.integers(1, 4))
def test_the_lists_equal_the_aggregates_after_any_history_and_after_a_rebuild(
    own_container, steps, batch_size, limit
):
    container = own_container
    tenant = Directory.open(container)

    tenant.play(steps, lambda size: _project(container, size))
    _project(container, batch_size)

    assert _lists(tenant, limit) == _replayed(tenant)
    incremental = _rows(container.read_engine)

    position = rebuild(
        read_models()["directory"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=max(2, batch_size // 2),
    )
    assert position == log_positions(container)[-1] == tracked(container.read_engine, "directory")
    assert _rows(container.read_engine) == incremental
    assert _lists(tenant, limit) == _replayed(tenant)


def test_a_cursor_not_naming_an_item_of_the_list_is_refused(own_container):
    container = own_container
    app = container
    tenant, other = Directory.open(app), Directory.open(app)
    tenant.play([("site",), ("queue", 1, "fifo"), ("queue", 0, "sla")], lambda _: None)
    _project(container)
    main_site, annex = tenant.site_ids
    first = app.queues.list_queues(tenant.tenant_id, PageRequest(limit=1))
    annex_queue = tenant.queue_ids[1]

    forged = "bm90LWFuLWlk"  # "not-an-id"
    unknown = encode_cursor(str(uuid.uuid4()))
    for cursor in (forged, unknown, encode_cursor(str(other.queue_ids[0]))):
        with pytest.raises(InvalidInput, match="cursor is not valid"):
            app.queues.list_queues(tenant.tenant_id, PageRequest(cursor))
    for cursor in (forged, unknown, encode_cursor(str(Agent.create_id(other.user_ids[0])))):
        with pytest.raises(InvalidInput, match="cursor is not valid"):
            app.staffing.list_agents(tenant.tenant_id, PageRequest(cursor))
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        app.queues.list_queues(
            tenant.tenant_id, PageRequest(encode_cursor(str(annex_queue))), main_site
        )

    assert first.next_cursor == encode_cursor(str(tenant.queue_ids[0]))
    rest = app.queues.list_queues(tenant.tenant_id, PageRequest(first.next_cursor))
    assert [queue.id for queue in rest.items] == tenant.queue_ids[1:]
    assert rest.next_cursor is None
    on_annex = app.queues.list_queues(tenant.tenant_id, site_id=annex)
    assert [queue.id for queue in on_annex.items] == [annex_queue]


def _alembic(container: Any, action: str, target: str) -> None:
    """``alembic upgrade|downgrade target`` on the container's database, as its owner."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = owner_engine(container)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, target)


def test_upgrading_a_database_with_history_fills_the_directory_from_the_whole_log(own_container):
    container = own_container
    tenant = Directory.open(container)
    steps = [
        ("issue", 0, 0),
        ("issue", 0, 1),
        ("call", 0, 0),
        ("queue", 0, "sla"),
        ("user", "manager"),
    ]
    tenant.play(steps, lambda _: None)
    _project(container)

    _alembic(container, "downgrade", "0007")  # a database from before the directory
    _alembic(container, "upgrade", "head")
    assert tracked(container.read_engine, "directory") == 0
    assert _rows(container.read_engine) == {"directory_queues": [], "directory_agents": []}
    _project(container)

    assert _lists(tenant, 2) == _replayed(tenant)
