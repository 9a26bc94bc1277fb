"""Customer commands on the in-memory store with a fake profile store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.popo import POPOFactory
from eventsourcing.utils import get_topic

from application.app import SmartQueue
from application.customers import CustomerProfile
from application.paging import PageRequest
from domain.customers import Customer
from domain.errors import CustomerNotFound, InvalidInput
from infrastructure.postgres.event_metadata import StampingEventStoreFactory
from tests.unit.customer_fakes import customer_world


@pytest.fixture
def setup():
    return customer_world()


def _register(world, name="Jeanne Dupont", **fields):
    return world.customers.register_customer(world.context, name, **fields)


def test_registering_stores_the_personal_data_outside_the_events(setup):
    world, profiles = setup

    customer = _register(
        world,
        phone="06 12 34 56 78",
        phone_region="FR",
        email="Jeanne@Example.org",
        metadata={"loyalty": "gold"},
        channels=["sms"],
        language="fr",
        quiet_hours={"start": "20:00", "end": "08:00"},
    )

    assert customer.phone == "+33612345678"
    assert customer.email == "Jeanne@example.org"
    assert customer.preferences.channels == ["sms"]
    assert customer.preferences.quiet_hours.start == "20:00"
    assert profiles.get(world.tenant_id, customer.id).name == "Jeanne Dupont"
    assert world.app.transactions[-1] == {"Customer.Registered"}
    stored = b"".join(
        event.state for event in world.app.recorder.select_events(customer.id)
    ).decode()
    for personal in ("Jeanne", "612345678", "example.org", "gold"):
        assert personal not in stored
    assert world.customers.get_customer(world.tenant_id, customer.id) == customer


def test_an_invalid_field_refuses_the_whole_registration(setup):
    world, profiles = setup
    saves = len(world.app.transactions)

    with pytest.raises(InvalidInput, match="phone_region"):
        _register(world, phone="06 12 34 56 78")
    with pytest.raises(InvalidInput, match="only read together with phone"):
        _register(world, phone_region="FR")
    with pytest.raises(InvalidInput, match="unknown language"):
        _register(world, phone="+33612345678", language="de")

    assert profiles.rows == {}
    assert len(world.app.transactions) == saves


def test_a_partial_update_changes_only_the_given_fields(setup):
    world, profiles = setup
    customer = _register(world, phone="+33612345678", email="j@example.org", channels=["sms"])

    updated = world.customers.update_customer(
        world.context, customer.id, name="Jeanne Martin", email=None, language="fr"
    )

    assert (updated.name, updated.phone, updated.email) == ("Jeanne Martin", customer.phone, None)
    assert updated.preferences.channels == ["sms"]
    assert updated.preferences.language == "fr"
    assert world.app.transactions[-1] == {"Customer.ContactChanged", "Customer.PreferencesChanged"}
    events = world.app.recorder.select_events(customer.id)
    assert b"Martin" not in events[-2].state + events[-1].state
    assert profiles.get(world.tenant_id, customer.id).email is None


def test_an_update_that_changes_nothing_records_nothing(setup):
    world, _ = setup
    customer = _register(world, phone="+33612345678")
    saves = len(world.app.transactions)

    world.customers.update_customer(
        world.context, customer.id, name="Jeanne Dupont", phone="0612345678", phone_region="FR"
    )

    assert world.app.transactions[saves:] == [set()]


def test_customers_are_found_by_phone_in_any_format_and_by_part_of_the_name(setup):
    world, _ = setup
    jeanne = _register(world, "Jeanne Dupont", phone="+33 6 12 34 56 78")
    world.clock.advance(seconds=1)
    _register(world, "Paul Dupond", phone="+33 6 98 76 54 32")
    world.clock.advance(seconds=1)
    anne = _register(world, "Anne-Marie DUPONT", phone="(514) 555-0123", phone_region="CA")

    def search(**filters):
        page = world.customers.list_customers(world.tenant_id, PageRequest(), **filters)
        return [c.id for c in page.items]

    assert search(phone="06.12.34.56.78", phone_region="FR") == [jeanne.id]
    assert search(phone="+1 514 555 0123") == [anne.id]
    assert search(phone="+33 6 00 00 00 00") == []
    assert search(name="dupont") == [jeanne.id, anne.id]
    assert search(name="DUPONT", phone="+15145550123") == [anne.id]
    with pytest.raises(InvalidInput, match="phone_region"):
        search(phone="0612345678")


def test_pages_walk_every_customer_once_oldest_first(setup):
    world, _ = setup
    registered = []
    for index in range(7):
        registered.append(_register(world, f"Customer {index}"))
        if index % 3 == 0:
            world.clock.advance(seconds=1)  # some share a timestamp: the id breaks the tie

    seen, cursor = [], None
    while True:
        page = world.customers.list_customers(world.tenant_id, PageRequest(cursor=cursor, limit=3))
        seen.extend(c.id for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == [c.id for c in sorted(registered, key=lambda c: (c.created_at, c.id))]
    assert len(set(seen)) == 7
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        world.customers.list_customers(world.tenant_id, PageRequest(cursor="bm90LWEtY3Vyc29y"))
    with pytest.raises(InvalidInput, match="phone_region '0'"):  # refused even without a phone
        world.customers.list_customers(world.tenant_id, PageRequest(), phone_region="0")


def test_erasure_deletes_the_profile_and_records_the_erasure_together(setup):
    world, profiles = setup
    customer = _register(world, phone="+33612345678")

    world.customers.erase_customer(world.context, customer.id)

    assert world.app.transactions[-1] == {"Customer.Erased"}
    assert profiles.get(world.tenant_id, customer.id) is None
    with pytest.raises(CustomerNotFound, match="was erased"):
        world.customers.get_customer(world.tenant_id, customer.id)
    with pytest.raises(CustomerNotFound):
        world.customers.erase_customer(world.context, customer.id)
    with pytest.raises(CustomerNotFound):
        world.customers.update_customer(world.context, customer.id, name="Back again")
    assert world.customers.list_customers(world.tenant_id, PageRequest()).items == []


def test_another_tenants_customer_is_not_found():
    world_a, profiles = customer_world()
    world_b, _ = customer_world(profiles, app=world_a.app)
    customer = _register(world_a)

    with pytest.raises(CustomerNotFound, match="no customer"):
        world_b.customers.get_customer(world_b.tenant_id, customer.id)
    with pytest.raises(CustomerNotFound):
        world_b.customers.update_customer(world_b.context, customer.id, name="Mine now")
    with pytest.raises(CustomerNotFound):
        world_b.customers.erase_customer(world_b.context, customer.id)
    assert world_b.customers.list_customers(world_b.tenant_id, PageRequest()).items == []
    assert world_a.customers.get_customer(world_a.tenant_id, customer.id).name == "Jeanne Dupont"


def test_a_ticket_names_only_a_live_customer_of_the_tenant(setup):
    world, profiles = setup
    other, _ = customer_world(profiles, app=world.app)
    queue = world.queue(world.service())
    customer = _register(world)
    foreign = _register(other)

    assert world.tickets.issue_ticket(
        world.context, queue, customer_id=customer.id
    ).customer_id == (customer.id)
    for refused in (uuid4(), foreign.id):
        with pytest.raises(CustomerNotFound, match="no customer"):
            world.tickets.issue_ticket(world.context, queue, customer_id=refused)
    world.customers.erase_customer(world.context, customer.id)
    with pytest.raises(CustomerNotFound, match="was erased"):
        world.tickets.issue_ticket(world.context, queue, customer_id=customer.id)


def test_a_save_that_loses_a_race_applies_none_of_its_side_writes(setup):
    world, profiles = setup
    customer = _register(world)
    winner = world.app.repository.get(customer.id)
    loser = world.app.repository.get(customer.id)
    profile = profiles.get(world.tenant_id, customer.id)

    winner.change_contact(["name"])
    world.app.save_in_context(
        world.context, winner, side_writes=[profiles.update(_renamed(profile, "Winner"))]
    )
    loser.erase()
    with pytest.raises(IntegrityError):
        world.app.save_in_context(
            world.context, loser, side_writes=[profiles.delete(world.tenant_id, customer.id)]
        )

    assert profiles.get(world.tenant_id, customer.id).name == "Winner"
    assert world.customers.get_customer(world.tenant_id, customer.id).name == "Winner"


def test_a_new_profile_is_not_written_when_its_events_are_refused(setup):
    world, profiles = setup
    customer = Customer(tenant_id=world.tenant_id, preferences={})
    pending = customer.collect_events()
    world.app.save_in_context(world.context, *pending)
    profile = profiles.get(world.tenant_id, customer.id)
    assert profile is None

    stray = _renamed(_profile_for(world, uuid4()), "Stray")
    with pytest.raises(IntegrityError):
        world.app.save_in_context(world.context, *pending, side_writes=[profiles.insert(stray)])

    assert profiles.rows == {}


class StockRecorderFactory(StampingEventStoreFactory, POPOFactory):
    """In-memory events stamped with metadata, and the library's own recorder."""


def test_side_writes_on_a_store_that_would_ignore_them_are_refused():
    app = SmartQueue(env={"PERSISTENCE_MODULE": get_topic(StockRecorderFactory)})
    world, _ = customer_world(app=app)

    with pytest.raises(RuntimeError, match="cannot apply side writes"):
        _register(world)


def _profile_for(world, customer_id):
    return CustomerProfile(world.tenant_id, customer_id, "x", None, None, {}, datetime.now(UTC))


def _renamed(profile, name):
    return replace(profile, name=name)
