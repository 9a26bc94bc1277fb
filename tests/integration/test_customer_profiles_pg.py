"""Customers on a real PostgreSQL: a profile row and its events commit together or not at all."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from application.paging import PageRequest
from domain.customers import Customer
from infrastructure.postgres.tenancy import set_tenant

pytestmark = pytest.mark.integration


def _profile_row(world, customer_id):
    with psycopg.connect(world.container.database_url) as connection:
        set_tenant(connection, world.tenant_id)  # row-level security: the tenant's rows only
        return connection.execute(
            "SELECT name, phone_e164, email, metadata FROM customer_profiles"
            " WHERE tenant_id = %s AND customer_id = %s",
            (world.tenant_id, customer_id),
        ).fetchone()


def _event_topics(world, customer_id):
    return [type(e).__qualname__ for e in world.container.app.events.get(customer_id)]


def test_registering_commits_the_profile_row_and_the_event_and_the_event_holds_no_personal_data(
    world,
):
    customer = world.container.customers.register_customer(
        world.context,
        "Jeanne Dupont",
        phone="06 12 34 56 78",
        phone_region="FR",
        email="jeanne.dupont@example.org",
        metadata={"card": "C-778899"},
    )

    assert _profile_row(world, customer.id) == (
        "Jeanne Dupont",
        "+33612345678",
        "jeanne.dupont@example.org",
        {"card": "C-778899"},
    )
    assert _event_topics(world, customer.id) == ["Customer.Registered"]
    state = b"".join(e.state for e in world.container.app.recorder.select_events(customer.id))
    for personal in (b"Jeanne", b"612345678", b"example.org", b"778899"):
        assert personal not in state
    assert world.container.customers.get_customer(world.tenant_id, customer.id) == customer


def test_a_save_whose_events_are_refused_writes_no_profile(world):
    profiles = world.container.customers.profiles
    existing = world.container.customers.register_customer(world.context, "First")
    customer = Customer(tenant_id=world.tenant_id, preferences={})
    pending = customer.collect_events()
    world.container.app.save_in_context(world.context, *pending)
    template = profiles.get(world.tenant_id, existing.id)
    stray = replace(template, customer_id=customer.id, name="Stray")

    # The same events again: version 1 of this customer exists, so the insert is refused.
    with pytest.raises(IntegrityError):
        world.container.app.save_in_context(
            world.context, *pending, side_writes=[profiles.insert(stray)]
        )

    assert _profile_row(world, customer.id) is None


def test_a_side_write_that_fails_records_no_event(world):
    profiles = world.container.customers.profiles
    customer_view = world.container.customers.register_customer(world.context, "Jeanne")
    customer = world.container.app.repository.get(customer_view.id)
    customer.change_contact(["name"])
    duplicate = profiles.insert(profiles.get(world.tenant_id, customer.id))

    with pytest.raises(IntegrityError):
        world.container.app.save_in_context(world.context, customer, side_writes=[duplicate])

    assert _event_topics(world, customer.id) == ["Customer.Registered"]


def test_an_erasure_that_loses_a_race_deletes_nothing(world):
    profiles = world.container.customers.profiles
    customer = world.container.customers.register_customer(
        world.context, "Jeanne", email="j@example.org"
    )
    winner = world.container.app.repository.get(customer.id)
    loser = world.container.app.repository.get(customer.id)

    winner.change_contact(["name"])
    renamed = replace(profiles.get(world.tenant_id, customer.id), name="Jeanne Martin")
    world.container.app.save_in_context(
        world.context, winner, side_writes=[profiles.update(renamed)]
    )
    loser.erase()
    with pytest.raises(IntegrityError):
        world.container.app.save_in_context(
            world.context, loser, side_writes=[profiles.delete(world.tenant_id, customer.id)]
        )

    assert _profile_row(world, customer.id)[0] == "Jeanne Martin"
    assert _event_topics(world, customer.id) == [
        "Customer.Registered",
        "Customer.ContactChanged",
    ]
    world.container.customers.erase_customer(
        world.context, customer.id
    )  # the command reloads and succeeds
    assert _profile_row(world, customer.id) is None
    assert _event_topics(world, customer.id)[-1] == "Customer.Erased"


def test_concurrent_updates_each_commit_once_with_their_own_event(world):
    customer = world.container.customers.register_customer(world.context, "Jeanne")
    writers = 6
    start = threading.Barrier(writers)

    def update(writer):
        start.wait()
        return world.container.customers.update_customer(
            world.context, customer.id, metadata={"writer": writer}
        )

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(update, range(writers)))

    topics = _event_topics(world, customer.id)
    assert topics.count("Customer.ContactChanged") == writers
    final = _profile_row(world, customer.id)[3]
    assert final["writer"] in range(writers)
    assert world.container.customers.get_customer(world.tenant_id, customer.id).metadata == final


def test_a_push_token_is_stored_with_the_profile_changed_with_it_and_erased_with_it(world):
    customers = world.container.customers
    customer = customers.register_customer(world.context, "Ada", push_token="device-token-1")

    def stored_token():
        with psycopg.connect(world.container.database_url) as connection:
            set_tenant(connection, world.tenant_id)
            row = connection.execute(
                "SELECT push_token FROM customer_profiles WHERE customer_id = %s",
                (customer.id,),
            ).fetchone()
        return row[0] if row else "no row"

    assert stored_token() == "device-token-1"
    customers.set_push_token(world.context, customer.id, "device-token-2")
    assert stored_token() == "device-token-2"
    assert customers.get_customer(world.tenant_id, customer.id).push_token == "device-token-2"
    listed = customers.list_customers(world.tenant_id, PageRequest(limit=200), name="Ada").items
    assert [c.push_token for c in listed if c.id == customer.id] == ["device-token-2"]

    customers.erase_customer(world.context, customer.id)
    assert stored_token() == "no row"
