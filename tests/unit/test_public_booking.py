"""The public booking context with only links in hand: a hold becomes the customer's booking
with their contact, an expired hold is refused before any profile is made, and "my
appointment" shows nothing personal."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from application.appointments import Appointments
from application.availability import Availability
from application.check_in import CheckIns
from application.public_booking import BookingPasses, PublicBooking
from domain.booking import HoldExpired
from domain.errors import InvalidInput, ResourceNotFound
from infrastructure.identity.ticket_passes import (
    APPOINTMENT_LABEL,
    HOLD_LABEL,
    HmacTicketPasses,
    derive_pass_key,
)
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.customer_fakes import InMemoryCustomerProfiles
from tests.unit.world import MORNING, Clock, TransactionSpy, make_world

START = MORNING + timedelta(days=1)


class NothingTaken:
    def taken(self, tenant_id, site_id, service_id, first, last):
        return {}


def setup():
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(MORNING)
    )
    profiles = InMemoryCustomerProfiles()
    world = make_world(app=app, profiles=profiles)
    service = world.service("A")
    world.queue(service)

    def family(label: bytes) -> HmacTicketPasses:
        key = derive_pass_key(b"s" * 32, label)
        return HmacTicketPasses(key, clock=lambda: world.clock().timestamp())

    booking = PublicBooking(
        world.app,
        Appointments(world.app),
        Availability(world.app, NothingTaken()),
        CheckIns(world.app),
        world.customers,
        world.queues,
        BookingPasses(family(HOLD_LABEL), family(APPOINTMENT_LABEL), family(b"tickets")),
    )
    slug = world.app.repository.get(world.tenant_id).slug
    return world, booking, slug, service, profiles


def test_a_hold_becomes_the_booking_of_a_new_customer_with_the_contact_given():
    world, booking, slug, service, profiles = setup()
    held = booking.hold(slug, world.site_id, service, START)
    contact = booking.check_contact("Ada", None, "Ada@Example.com", "fr")
    booked = booking.book(slug, world.site_id, held.hold_token, contact)

    assert booked.url == f"/a/{booked.token}"
    assert booked.appointment.start == START and booked.appointment.status == "booked"
    [profile] = profiles.rows.values()
    assert (profile.name, profile.email, profile.phone_e164) == ("Ada", "Ada@example.com", None)
    assert booking.get_appointment(booked.token) == booked.appointment
    assert "Ada" not in repr(booked.appointment)


def test_an_expired_hold_is_refused_before_any_profile_is_made():
    world, booking, slug, service, profiles = setup()
    held = booking.hold(slug, world.site_id, service, START)
    world.clock.advance(minutes=5)
    contact = booking.check_contact("Ada", "+33 6 12 34 56 78", None, None)
    with pytest.raises(HoldExpired):
        booking.book(slug, world.site_id, held.hold_token, contact)
    assert profiles.rows == {}


def test_a_booking_needs_a_phone_or_an_email_and_a_bookable_service():
    world, booking, slug, service, _ = setup()
    with pytest.raises(InvalidInput, match="phone or email"):
        booking.check_contact("Ada", " ", None, None)
    with pytest.raises(ResourceNotFound):
        booking.hold(slug, world.site_id, world.service("B"), START)  # no queue serves it
    day = START.astimezone(UTC).date()
    with pytest.raises(InvalidInput, match="31 days"):
        booking.get_availability(slug, world.site_id, service, day, day + timedelta(days=31))
