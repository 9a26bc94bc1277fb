"""A customer's push token: personal data kept with the contact (never in an event), set by staff
or by the customer's app through a followed ticket, and where the push channel reaches them."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from application.notifications import plan_messages, recipient_of
from application.public_tickets import NoCustomer
from domain.errors import InvalidInput, TicketNotFound
from domain.messages import Channel, MessageKind
from tests.unit.customer_fakes import customer_world
from tests.unit.test_public_tickets import join, setup

DEVICE = "fcm-token_1:APA91bH-example.token"
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def stored_events(world, customer_id: UUID) -> str:
    return b"".join(e.state for e in world.app.recorder.select_events(customer_id)).decode()


def test_staff_set_a_push_token_that_stays_out_of_the_events():
    world, profiles = customer_world()
    customer = world.customers.register_customer(
        world.context, "Ada", channels=["push"], push_token=f"  {DEVICE} "
    )
    assert customer.push_token == DEVICE
    assert profiles.get(world.tenant_id, customer.id).push_token == DEVICE

    other = "another-device-token"
    updated = world.customers.update_customer(world.context, customer.id, push_token=other)

    assert updated.push_token == other
    assert world.app.transactions[-1] == {"Customer.ContactChanged"}
    assert '"push_token"' in stored_events(world, customer.id)  # the field's name only
    assert DEVICE not in stored_events(world, customer.id)
    assert other not in stored_events(world, customer.id)
    cleared = world.customers.update_customer(world.context, customer.id, push_token=None)
    assert cleared.push_token is None


@pytest.mark.parametrize("bad", ["", "   ", "token with spaces", "tok\nen", "x" * 4097, "é"])
def test_a_push_token_that_is_not_one_is_refused(bad: str):
    world, _profiles = customer_world()
    with pytest.raises(InvalidInput, match="push token"):
        world.customers.register_customer(world.context, "Ada", push_token=bad)


def test_the_apps_registration_chooses_push_and_its_withdrawal_unchooses_it():
    world, profiles = customer_world()
    customer = world.customers.register_customer(world.context, "Ada", channels=["sms"])

    world.customers.set_push_token(world.context, customer.id, DEVICE)

    registered = world.customers.get_customer(world.tenant_id, customer.id)
    assert (registered.push_token, registered.preferences.channels) == (DEVICE, ["sms", "push"])
    assert world.app.transactions[-1] == {"Customer.ContactChanged", "Customer.PreferencesChanged"}

    world.customers.set_push_token(world.context, customer.id, None)

    withdrawn = world.customers.get_customer(world.tenant_id, customer.id)
    assert (withdrawn.push_token, withdrawn.preferences.channels) == (None, ["sms"])
    assert profiles.get(world.tenant_id, customer.id).push_token is None


def test_erasure_takes_the_push_token_with_the_profile():
    world, profiles = customer_world()
    customer = world.customers.register_customer(world.context, "Ada", push_token=DEVICE)

    world.customers.erase_customer(world.context, customer.id)

    assert profiles.get(world.tenant_id, customer.id) is None
    assert all(DEVICE not in repr(row) for row in profiles.rows.values())


def test_the_push_channel_reaches_the_customer_at_their_push_token():
    world, _profiles = customer_world()
    with_token = world.customers.register_customer(
        world.context, "Ada", channels=["push"], push_token=DEVICE
    )
    without = world.customers.register_customer(world.context, "Bob", channels=["push"])
    event = UUID(int=7)

    plan = plan_messages(MessageKind.CALLED, event, recipient_of(with_token), NOON, "UTC")
    assert [(m.channel, m.address) for m in plan.messages] == [(Channel.PUSH, DEVICE)]
    assert recipient_of(with_token).address(Channel.PUSH) == DEVICE
    assert (
        plan_messages(MessageKind.CALLED, event, recipient_of(without), NOON, "UTC").messages == ()
    )


def test_the_customers_app_registers_for_pushes_through_its_ticket_link():
    world, public, slug, service, _queue = setup()
    joined = join(public, slug, world, service, name="Ada", phone="+33 6 12 34 56 78")
    customer_id = world.tickets.get_ticket(world.tenant_id, joined.ticket.id).customer_id

    public.register_push(joined.token, DEVICE)

    customer = world.customers.get_customer(world.tenant_id, customer_id)
    assert (customer.push_token, customer.preferences.channels) == (DEVICE, ["sms", "push"])
    public.register_push(joined.token, None)
    customer = world.customers.get_customer(world.tenant_id, customer_id)
    assert (customer.push_token, customer.preferences.channels) == (None, ["sms"])


def test_a_ticket_without_a_customer_or_link_cannot_register_for_pushes():
    world, public, slug, service, _queue = setup()
    anonymous = join(public, slug, world, service)
    with pytest.raises(NoCustomer):
        public.register_push(anonymous.token, DEVICE)
    with pytest.raises(TicketNotFound):
        public.register_push("not-a-ticket-link", DEVICE)

    named = join(public, slug, world, service, name="Ada")
    customer_id = world.tickets.get_ticket(world.tenant_id, named.ticket.id).customer_id
    world.customers.erase_customer(world.context, customer_id)
    with pytest.raises(NoCustomer, match="erased"):
        public.register_push(named.token, DEVICE)
