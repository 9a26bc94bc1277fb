"""CommandContext is the last gate before metadata becomes immutable: only short tokens and real
addresses get through, whatever a caller passes."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.context import MAX_TOKEN_LENGTH, CommandContext, is_safe_token

TOKEN_ALPHABET = "ABCXYZabcxyz0189._-"


@given(st.text(alphabet=TOKEN_ALPHABET, min_size=1, max_size=MAX_TOKEN_LENGTH))
def test_a_short_token_is_kept_as_the_correlation_and_causation(token: str):
    context = CommandContext(tenant_id=uuid4(), correlation_id=token, causation_id=token)

    assert context.as_metadata()["correlation_id"] == token
    assert context.as_metadata()["causation_id"] == token


@pytest.mark.parametrize(
    "unsafe", ["", "x" * 60_000, "y" * 65, "has space", "new\nline", "ünï", "a;b", "<b>"]
)
def test_a_correlation_id_that_is_not_a_short_token_is_replaced_by_a_fresh_one(unsafe: str):
    first = CommandContext(tenant_id=None, correlation_id=unsafe, causation_id=unsafe)
    second = CommandContext(tenant_id=None, correlation_id=unsafe)

    assert is_safe_token(first.correlation_id)
    assert first.correlation_id != unsafe
    assert first.correlation_id != second.correlation_id
    assert first.causation_id is None


@pytest.mark.parametrize(
    ("given_ip", "stored"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("testclient", None),
        ("1.2.3.4, 5.6.7.8", None),
        ("9" * 10_000, None),
        (None, None),
    ],
)
def test_only_a_real_address_is_stamped_as_the_client_ip(given_ip: str | None, stored: str | None):
    context = CommandContext(tenant_id=None, client_ip=given_ip)

    assert context.as_metadata()["client_ip"] == stored


def test_no_value_in_the_metadata_is_longer_than_a_token_or_an_address():
    context = CommandContext(
        tenant_id=uuid4(),
        actor_id=uuid4(),
        actor_role="manager",
        client_ip="z" * 5000,
        correlation_id="c" * 5000,
        causation_id="d" * 5000,
    )

    assert all(len(value or "") <= MAX_TOKEN_LENGTH for value in context.as_metadata().values())
