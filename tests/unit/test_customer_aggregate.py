"""The Customer aggregate: its events say what happened, never who the customer is."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.customers import Customer, Preferences
from domain.errors import CustomerNotFound, InvalidInput

PREFERENCES = Preferences.parse(["sms"], "fr", {"start": "21:00", "end": "08:00"})


def _event_fields(event) -> set[str]:
    return set(vars(event)) - {"originator_id", "originator_version", "timestamp"}


def test_registration_records_only_the_tenant_and_the_preferences():
    tenant_id = uuid4()
    customer = Customer(tenant_id=tenant_id, preferences=PREFERENCES.as_dict())

    [registered] = customer.collect_events()

    assert type(registered) is Customer.Registered
    assert _event_fields(registered) - {"originator_topic"} == {"tenant_id", "preferences"}
    assert registered.tenant_id == tenant_id
    assert registered.preferences == PREFERENCES.as_dict()
    assert customer.erased is False


def test_a_contact_change_records_the_field_names_only_in_a_fixed_order():
    customer = Customer(tenant_id=uuid4(), preferences=PREFERENCES.as_dict())
    customer.collect_events()

    customer.change_contact(["metadata", "phone"])

    [changed] = customer.collect_events()
    assert type(changed) is Customer.ContactChanged
    assert _event_fields(changed) == {"fields"}
    assert changed.fields == ["phone", "metadata"]


def test_no_event_is_recorded_when_nothing_changed():
    customer = Customer(tenant_id=uuid4(), preferences=PREFERENCES.as_dict())
    customer.collect_events()

    customer.change_contact([])
    customer.change_preferences(Preferences.from_dict(PREFERENCES.as_dict()))

    assert customer.collect_events() == []


def test_unknown_contact_fields_are_refused():
    customer = Customer(tenant_id=uuid4(), preferences=PREFERENCES.as_dict())

    with pytest.raises(InvalidInput, match="not contact fields"):
        customer.change_contact(["name", "password"])


def test_preferences_change_is_recorded_and_applied():
    customer = Customer(tenant_id=uuid4(), preferences=PREFERENCES.as_dict())
    customer.collect_events()
    wanted = Preferences.parse(["email", "push"], "en", None)

    customer.change_preferences(wanted)

    [changed] = customer.collect_events()
    assert type(changed) is Customer.PreferencesChanged
    assert changed.preferences == wanted.as_dict()
    assert customer.preferences == wanted.as_dict()


def test_an_erased_customer_cannot_change_or_be_erased_again():
    customer = Customer(tenant_id=uuid4(), preferences=PREFERENCES.as_dict())
    customer.erase()

    assert customer.erased
    assert type(customer.collect_events()[-1]) is Customer.Erased
    for action in (
        lambda: customer.change_contact(["name"]),
        lambda: customer.change_preferences(Preferences()),
        customer.erase,
        customer.check_live,
    ):
        with pytest.raises(CustomerNotFound, match="was erased"):
            action()
    assert customer.collect_events() == []
