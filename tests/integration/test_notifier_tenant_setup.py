"""The notifier follows the tenant's own set-up: its template's text reaches the SMTP server, a
kind it switched off sends nothing, a stored template that fails to render gives way to the
built-in one, and a tenant with no "near" threshold left gets no "your turn is near"."""

from __future__ import annotations

import dataclasses

import pytest

from application.notification_templates import TenantTemplate, template_id
from application.notifications import NotificationFacts
from application.paging import PageRequest
from domain.messages import Channel, MessageKind, TemplateParts
from infrastructure.notify.notifier import Notifier
from infrastructure.settings import load_settings
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.test_notifier import (  # noqa: F401 (fixtures)
    Running,
    Stack,
    called_at_counter,
    eventually,
    stack,
)

pytestmark = pytest.mark.integration

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()


def notifier_with_setup(stack: Stack) -> Running:  # noqa: F811
    settings = load_settings({"SMARTQUEUE_NOTIFIER_GROUP": stack.group}).notify
    kafka = dataclasses.replace(stack.container.settings.kafka, bootstrap_servers=stack.bootstrap)
    container = stack.container
    facts = NotificationFacts(
        container.tickets, container.queues, container.catalogue, container.customers
    )
    notifier = Notifier(
        facts,
        stack.ledger,
        stack.jobs,
        kafka,
        settings,
        with_eta=stack.container.ticket_queries.with_eta,
        setup=stack.container.notification_setup,
    )
    return Running(notifier)


def kinds_in_ledger(stack: Stack, world: TenantWorld, ticket_id) -> list[str]:  # noqa: F811
    entries = stack.ledger.search(world.tenant_id, PageRequest(), ticket_id=ticket_id).items
    return sorted(entry.delivery.kind.value for entry in entries)


def test_the_tenants_template_is_sent_and_a_kind_switched_off_is_not(
    stack: Stack,  # noqa: F811
    world: TenantWorld,
) -> None:
    app = world.container
    setup = app.notification_setup
    setup.put_settings(
        world.context, {"ticket_issued": False}, turn_near_position=3, turn_near_eta_minutes=None
    )
    setup.create_template(
        world.context,
        "called",
        "email",
        "en",
        TemplateParts(
            subject="Counter {counter} for {number}",
            text="Dear customer, {number} is expected at counter {counter} of {site}.",
        ),
    )
    # Saved under older rules, unchecked: "turn near" has no {counter}, so it fails to render.
    broken = TenantTemplate(
        id=template_id(world.tenant_id, MessageKind.TURN_NEAR, Channel.EMAIL, "en"),
        kind="turn_near",
        channel="email",
        language="en",
        subject="Near {counter}",
        text="{counter}",
        created_at=app.app.clock(),
        updated_at=app.app.clock(),
    )
    assert setup.store.insert_template(world.tenant_id, broken)
    stack.relay()
    running = notifier_with_setup(stack)
    eventually(lambda: bool(running.notifier.pinned))
    customer = app.customers.register_customer(
        world.context, "Ann Lee", email="ann.lee@example.org", channels=["email"], language="en"
    )
    agent_id = called_at_counter(world, "4")
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()
    eventually(lambda: len(stack.smtp.to("ann.lee@example.org")) == 1)
    app.staffing.call_next(world.context, agent_id, world.queue_id)
    stack.relay()
    eventually(lambda: len(stack.smtp.to("ann.lee@example.org")) == 2)
    running.stop()

    by_subject = {d.message["Subject"]: d for d in stack.smtp.to("ann.lee@example.org")}
    called = by_subject[f"Counter 4 for {ticket.number}"]
    assert called.message.get_body(("plain",)).get_content().strip() == (
        f"Dear customer, {ticket.number} is expected at counter 4 of Main."
    )
    # The broken "turn near" template gave way to the built-in one.
    assert f"{ticket.number}: your turn is near" in by_subject
    assert kinds_in_ledger(stack, world, ticket.id) == ["called", "turn_near"]


def test_a_tenant_with_turn_near_off_gets_only_the_other_messages(
    stack: Stack,  # noqa: F811
    world: TenantWorld,
) -> None:
    app = world.container
    app.notification_setup.put_settings(
        world.context, {"turn_near": False}, turn_near_position=3, turn_near_eta_minutes=None
    )
    stack.relay()
    running = notifier_with_setup(stack)
    eventually(lambda: bool(running.notifier.pinned))
    customer = app.customers.register_customer(
        world.context, "Bo Li", email="bo.li@example.org", channels=["email"], language="en"
    )
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer.id)
    stack.relay()
    eventually(lambda: len(stack.smtp.to("bo.li@example.org")) == 1)
    app.tickets.cancel_ticket(world.context, ticket.id)
    stack.relay()
    eventually(lambda: len(stack.smtp.to("bo.li@example.org")) == 2)
    running.stop()

    assert kinds_in_ledger(stack, world, ticket.id) == ["cancelled", "ticket_issued"]
    subjects = sorted(d.message["Subject"] for d in stack.smtp.to("bo.li@example.org"))
    expected = [f"Your ticket {ticket.number}", f"{ticket.number}: ticket cancelled"]
    assert subjects == sorted(expected)
