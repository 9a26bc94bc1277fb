"""Loads are always scoped to a tenant: a missing tenant is refused, not a wildcard."""

from __future__ import annotations

import pytest

from application.app import SmartQueue
from application.context import CommandContext
from domain.errors import NotFound
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.world import contexts_of


def test_a_command_without_a_tenant_cannot_reach_any_tenants_data():
    app = contexts_of(SmartQueue(env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}))
    tenant_id = app.tenancy.create_tenant(CommandContext.system(None), "acme", "Acme")
    context = CommandContext.system(tenant_id)
    site = app.catalogue.add_site(context, "HQ", "Europe/Paris")
    service = app.catalogue.add_service(context, "Accounts", "A", 10)
    queue = app.queues.open_queue(context, "Main", site.id, [service.id], "fifo")
    ticket = app.tickets.issue_ticket(context, queue.id)

    no_tenant = CommandContext.system(None)
    with pytest.raises(NotFound):
        app.tickets.issue_ticket(no_tenant, queue.id)
    with pytest.raises(NotFound):
        app.tickets.cancel_ticket(no_tenant, ticket.id)
    with pytest.raises(NotFound):
        app.catalogue.add_site(no_tenant, "Elsewhere", "UTC")
    assert app.tickets.get_ticket(tenant_id, ticket.id).status == "waiting"


def test_a_tenant_cannot_load_another_tenant_as_its_own():
    app = contexts_of(SmartQueue(env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}))
    first = app.tenancy.create_tenant(CommandContext.system(None), "first", "First")
    second = app.tenancy.create_tenant(CommandContext.system(None), "second", "Second")
    app.catalogue.add_site(CommandContext.system(first), "HQ", "UTC")
    with pytest.raises(NotFound):
        app.catalogue.get_site(second, app.catalogue.list_sites(first).items[0].id)
