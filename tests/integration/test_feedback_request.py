"""The feedback request: completing a ticket makes the notifier send its customer a link to the
feedback page (built-in French and English text), which takes the customer's feedback once;
a tenant that switched ``feedback_request`` off sends nothing."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from application.notifications import NotificationFacts
from application.paging import PageRequest
from domain.feedback import FeedbackGiven
from infrastructure.notify.notifier import Notifier
from infrastructure.settings import load_settings
from interfaces.notifier_cli import ticket_links
from tests.integration import test_notifier
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.test_notifier import Running, Stack, eventually

pytestmark = pytest.mark.integration
stack = test_notifier.stack  # the notifier tests' fixture: SMTP server, ledger, jobs worker

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

LINK = re.compile(r"https?://\S+/feedback/([A-Za-z0-9_-]+)")


def notifier_with_links(stack: Stack) -> Running:
    """The test stack's notifier with the links ``smartqueue notifier`` puts in messages."""
    container = stack.container
    facts = NotificationFacts(
        container.tickets, container.queues, container.catalogue, container.customers
    )
    notifier = Notifier(
        facts,
        stack.ledger,
        stack.jobs,
        dataclasses.replace(container.settings.kafka, bootstrap_servers=stack.bootstrap),
        load_settings({"SMARTQUEUE_NOTIFIER_GROUP": stack.group}).notify,
        clock=stack.clock,
        setup=stack.container.notification_setup,
        link=ticket_links(stack.container, stack.container.settings),
    )
    return Running(notifier)


def served(world: TenantWorld, customer_id):
    app = world.container
    agent_id = world.add_available_agent()
    ticket = app.tickets.issue_ticket(world.context, world.queue_id, customer_id=customer_id)
    assert app.staffing.call_next(world.context, agent_id, world.queue_id).id == ticket.id
    app.tickets.start_ticket(world.context, ticket.id)
    return app.tickets.close_ticket(world.context, ticket.id)


def test_a_completed_visit_sends_a_feedback_link_that_takes_feedback_once(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    address = "avis@example.org"
    customer = app.customers.register_customer(
        world.context, "Camille Avis", email=address, channels=["email"], language="fr"
    )
    stack.relay()
    running = notifier_with_links(stack)
    eventually(lambda: bool(running.notifier.pinned))

    ticket = served(world, customer.id)
    stack.relay()

    def feedback_mail():
        mails = [
            d
            for d in stack.smtp.to(address)
            if d.message["Subject"] == ("Votre avis sur votre visite")
        ]
        return mails[0] if mails else None

    eventually(lambda: feedback_mail() is not None)
    running.stop()
    text = feedback_mail().message.get_body(("plain",)).get_content()
    assert "Donner mon avis" in text
    token = LINK.search(text).group(1)
    page = app.feedback.get_request(token)
    assert (page.ticket_number, page.given) == (ticket.number, False)
    given = app.feedback.submit_feedback(token, csat=5, nps=10, tags=["staff"])
    assert (given.csat, given.nps, given.agent_id) == (5, 10, ticket.agent_id)
    with pytest.raises(FeedbackGiven):
        app.feedback.submit_feedback(token, csat=1)


def test_a_tenant_that_switched_feedback_requests_off_sends_none(
    stack: Stack, world: TenantWorld
) -> None:
    app = world.container
    address = "sans-avis@example.org"
    app.notification_setup.put_settings(
        world.context, {"feedback_request": False}, turn_near_position=3, turn_near_eta_minutes=None
    )
    customer = app.customers.register_customer(
        world.context, "Dominique", email=address, channels=["email"], language="en"
    )
    stack.relay()
    running = notifier_with_links(stack)
    eventually(lambda: bool(running.notifier.pinned))

    ticket = served(world, customer.id)
    stack.relay()

    # Issued, called, started, completed: the notifier has read the completion.
    eventually(lambda: running.notifier.handled >= 4)
    time.sleep(1.5)  # time for a feedback request, were one queued
    running.stop()
    entries = stack.ledger.search(world.tenant_id, PageRequest(), ticket_id=ticket.id).items
    assert "feedback_request" not in {entry.delivery.kind.value for entry in entries}
    assert "How was your visit?" not in [d.message["Subject"] for d in stack.smtp.to(address)]
