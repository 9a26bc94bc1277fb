"""Ticket passes: the capability tokens behind the public "my ticket" links."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest

from application.ports import TicketPass
from infrastructure.identity.ticket_passes import HmacTicketPasses, derive_pass_key

KEY = derive_pass_key(b"k" * 32)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
END_OF_DAY = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def passes(at: datetime = NOW, key: bytes = KEY) -> HmacTicketPasses:
    return HmacTicketPasses(key, clock=at.timestamp)


def a_pass() -> TicketPass:
    return TicketPass(tenant_id=uuid.uuid4(), ticket_id=uuid.uuid4(), expires_at=END_OF_DAY)


def test_a_pass_verifies_as_the_ticket_and_tenant_it_was_issued_for():
    ticket_pass = a_pass()
    token = passes().issue(ticket_pass)
    assert passes().verify(token) == ticket_pass
    assert token.isascii() and "/" not in token and "+" not in token and "=" not in token


def test_a_pass_stops_working_at_the_end_of_its_day():
    token = passes().issue(a_pass())
    assert passes(at=END_OF_DAY).verify(token) is None


def test_a_pass_signed_with_another_key_is_refused():
    token = passes(key=derive_pass_key(b"o" * 32)).issue(a_pass())
    assert passes().verify(token) is None


def test_changing_any_byte_of_a_pass_makes_it_invalid():
    token = passes().issue(a_pass())
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for index in range(len(raw)):
        forged = bytearray(raw)
        forged[index] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(forged)).rstrip(b"=").decode()
        assert passes().verify(text) is None, index


@pytest.mark.parametrize("token", ["", "abc", "é" * 70, "A" * 69, "A" * 500, "../../etc"])
def test_malformed_tokens_are_refused(token):
    assert passes().verify(token) is None


def test_two_tickets_never_share_a_token():
    assert passes().issue(a_pass()) != passes().issue(a_pass())


def test_the_key_must_be_long_enough():
    with pytest.raises(ValueError):
        HmacTicketPasses(b"short")
