"""The application on a real PostgreSQL: a ticket goes from issue to completion."""

from __future__ import annotations

import pytest

from infrastructure.container import build_container

pytestmark = pytest.mark.integration


def test_the_event_store_on_postgres_serves_a_whole_ticket_cycle(settings):
    container = build_container(settings)
    try:
        from application.context import CommandContext
        from domain.agents import Agent

        app = container.app
        import uuid

        slug = f"t-{uuid.uuid4().hex[:8]}"
        tenant_id = app.create_tenant(CommandContext.system(None), slug, "Smoke")
        ctx = CommandContext.system(tenant_id)
        site = app.add_site(ctx, "HQ", "Europe/Paris")
        service = app.add_service(ctx, "Accounts", "A", 10)
        queue = app.open_queue(ctx, "Main", site.id, [service.id], "fifo")
        user = container.identity.create_user(ctx, f"{slug}@x.example", "password1", "Al", "agent")
        agent_id = Agent.create_id(user.id)
        app.set_agent_status(ctx, agent_id, "available")
        issued = app.issue_ticket(ctx, queue.id)
        called = app.call_next(ctx, agent_id, queue.id)
        assert called is not None and called.id == issued.id and called.status == "called"
        assert app.start_ticket(ctx, called.id).status == "serving"
        assert app.close_ticket(ctx, called.id).status == "completed"
    finally:
        container.close()
