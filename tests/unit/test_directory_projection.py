"""The directory projection alone: fed from an in-memory log, its lists equal what loading the
tenant and every queue and agent aggregate says, page after page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.app import SmartQueue
from application.paging import PageRequest
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.directory_history import HISTORY, Directory
from tests.unit.directory_fakes import MemoryDirectory
from tests.unit.world import Contexts, contexts_of


def _app(directory: MemoryDirectory) -> Contexts:
    """The contexts over a new in-memory store whose lists answer from ``directory``, which
    the test catches up by hand."""
    store = SmartQueue(env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC})
    return contexts_of(store, directory=directory)


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=HISTORY, limit=st.integers(1, 4))
def test_the_lists_equal_the_aggregates_after_any_history(steps, limit):
    memory = MemoryDirectory()
    app = _app(memory)
    tenant = Directory.open(app)
    tenant.play(steps, lambda _: memory.follow(app.app))
    memory.follow(app.app)

    assert _walk(lambda page: app.queues.list_queues(tenant.tenant_id, page), limit) == (
        tenant.replayed_queues()
    )
    assert _walk(lambda page: app.staffing.list_agents(tenant.tenant_id, page), limit) == (
        tenant.replayed_agents()
    )
    for site_id in tenant.site_ids:
        listed = _walk(
            lambda page, s=site_id: app.queues.list_queues(tenant.tenant_id, page, s), limit
        )
        assert listed == tenant.replayed_queues(site_id)


def test_a_busy_agent_released_becomes_available_and_a_paused_one_stays_paused():
    memory = MemoryDirectory()
    app = _app(memory)
    tenant = Directory.open(app)  # a fifo queue and two available agents
    tenant.play(
        [
            ("issue", 0, 0),
            ("issue", 0, 0),
            ("call", 0, 0),
            ("call", 1, 0),
            ("status", 1, "paused"),
            ("finish", 0, True),
            ("finish", 1, False),
        ],
        lambda _: None,
    )
    memory.follow(app.app)

    agents = app.staffing.list_agents(tenant.tenant_id).items
    assert [(agent.status, agent.current_ticket_id) for agent in agents] == [
        ("available", None),
        ("paused", None),
    ]
    assert agents == tenant.replayed_agents()
    assert [queue.waiting for queue in app.queues.list_queues(tenant.tenant_id).items] == [0]


def test_the_lists_of_one_tenant_hold_nothing_of_another():
    memory = MemoryDirectory()
    app = _app(memory)
    first, second = Directory.open(app), Directory.open(app)
    for tenant in (first, second):
        tenant.play([("queue", 0, "fifo"), ("user", "agent")], lambda _: None)
    memory.follow(app.app)

    for tenant in (first, second):
        queues: set[UUID] = {queue.id for queue in app.queues.list_queues(tenant.tenant_id).items}
        assert queues == set(tenant.queue_ids)
        assert [agent.user_id for agent in app.staffing.list_agents(tenant.tenant_id).items] == (
            tenant.user_ids
        )
