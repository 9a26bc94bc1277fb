"""The booking pages' tokens: a hold token names its tenant, schedule and hold until it
expires; a forged, truncated or expired one, or a token of another family, names nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from application.public_booking import BookingPasses
from infrastructure.identity.ticket_passes import (
    APPOINTMENT_LABEL,
    HOLD_LABEL,
    HmacTicketPasses,
    derive_pass_key,
)

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SIGNING_KEY = b"s" * 32


def passes(now: datetime = NOW) -> BookingPasses:
    def family(label: bytes | None) -> HmacTicketPasses:
        key = derive_pass_key(SIGNING_KEY, label) if label else derive_pass_key(SIGNING_KEY)
        return HmacTicketPasses(key, clock=lambda: now.timestamp())

    return BookingPasses(family(HOLD_LABEL), family(APPOINTMENT_LABEL), family(None))


def test_a_hold_token_names_its_tenant_schedule_and_hold_until_it_expires():
    tenant, schedule, hold = uuid4(), uuid4(), uuid4()
    token = passes().hold_token(tenant, schedule, hold, NOW + timedelta(minutes=10))
    assert passes().verify_hold(token) == (tenant, schedule, hold)
    assert passes(NOW + timedelta(minutes=11)).verify_hold(token) is None


def test_forged_truncated_and_other_families_tokens_name_no_hold():
    booking = passes()
    token = booking.hold_token(uuid4(), uuid4(), uuid4(), NOW + timedelta(minutes=10))
    first, second = token.split(".")
    forged = second[:-2] + ("AA" if not second.endswith("AA") else "BB")
    assert booking.verify_hold(f"{first}.{forged}") is None
    assert booking.verify_hold(first) is None
    assert booking.verify_hold(f"{token}.{second}") is None
    appointment = booking.appointment_token(uuid4(), uuid4(), NOW + timedelta(days=9))
    assert booking.verify_hold(f"{appointment}.{appointment}") is None
    assert booking.verify_appointment(first) is None
    assert booking.verify_appointment(appointment) is not None


def test_parts_of_two_tenants_holds_do_not_make_a_token():
    booking = passes()
    one = booking.hold_token(uuid4(), uuid4(), uuid4(), NOW + timedelta(minutes=10))
    other = booking.hold_token(uuid4(), uuid4(), uuid4(), NOW + timedelta(minutes=10))
    assert booking.verify_hold(f"{one.split('.')[0]}.{other.split('.')[1]}") is None
