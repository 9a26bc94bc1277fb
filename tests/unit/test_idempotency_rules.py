"""The pure rules of idempotency keys: valid keys, request fingerprints, and the verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from application.idempotency import (
    KeyPolicy,
    KeyRecord,
    KeyState,
    StoredResponse,
    Verdict,
    fingerprint,
    is_valid_key,
    judge,
)
from interfaces.http.idempotency_http import canonical_body, request_fingerprint

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
POLICY = KeyPolicy(ttl=timedelta(hours=24), lease=timedelta(seconds=60))
USER = uuid4()
PATH = "/api/v1/tenants/acme/tickets"


def record(
    state: KeyState = KeyState.IN_FLIGHT, age: timedelta = timedelta(0), lease_left: float = 30
) -> KeyRecord:
    created = NOW - age
    done = state is KeyState.COMPLETED
    return KeyRecord(
        fingerprint="fp",
        state=state,
        created_at=created,
        locked_until=None if done else NOW + timedelta(seconds=lease_left),
        claim_id=uuid4(),
        response=StoredResponse(201, (), b"{}") if done else None,
    )


# -- keys -------------------------------------------------------------------------------------


def test_keys_of_1_to_255_visible_ascii_characters_are_valid() -> None:
    assert is_valid_key("a")
    assert is_valid_key("8e0f3a8e-6c1b-4c5f-9a63-0b6a8f1c2d3e")
    assert is_valid_key("!~" * 127 + "x")


def test_empty_long_spaced_or_non_ascii_keys_are_invalid() -> None:
    assert not is_valid_key("")
    assert not is_valid_key("x" * 256)
    assert not is_valid_key("two words")
    assert not is_valid_key("clé")
    assert not is_valid_key("tab\there")


# -- fingerprints -----------------------------------------------------------------------------


def test_fingerprint_parts_cannot_be_shifted_into_each_other() -> None:
    assert fingerprint("ab", "c") != fingerprint("a", "bc")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5), st.randoms())
def test_key_order_and_spacing_of_a_json_body_do_not_change_the_request(body, random) -> None:
    items = list(body.items())
    random.shuffle(items)
    reordered = json.dumps(dict(items), indent=random.choice([None, 2])).encode()

    assert canonical_body(reordered) == canonical_body(json.dumps(body).encode())


def test_a_different_value_is_a_different_request() -> None:
    one = request_fingerprint(USER, "POST", PATH, b"", b'{"priority": 1}')
    two = request_fingerprint(USER, "POST", PATH, b"", b'{"priority": 2}')
    assert one != two


def test_method_path_query_user_and_body_all_tell_requests_apart() -> None:
    base = request_fingerprint(USER, "POST", PATH, b"", b'{"a":1}')

    assert base == request_fingerprint(USER, "post", PATH + "/", b"", b'{ "a": 1 }')
    assert base != request_fingerprint(USER, "PUT", PATH, b"", b'{"a":1}')
    assert base != request_fingerprint(USER, "POST", PATH + "/x", b"", b'{"a":1}')
    assert base != request_fingerprint(USER, "POST", PATH, b"force=1", b'{"a":1}')
    assert base != request_fingerprint(uuid4(), "POST", PATH, b"", b'{"a":1}')


def test_an_empty_body_is_no_body_and_a_non_json_body_counts_as_sent() -> None:
    assert canonical_body(b"  \n") == b""
    assert canonical_body(b"not json") == b"not json"
    assert request_fingerprint(USER, "POST", PATH, b"", b"") == request_fingerprint(
        USER, "POST", PATH, b"", b" "
    )


def test_query_parameter_order_does_not_change_the_request() -> None:
    assert request_fingerprint(USER, "POST", PATH, b"a=1&b=2", b"") == request_fingerprint(
        USER, "POST", PATH, b"b=2&a=1", b""
    )


# -- verdict ----------------------------------------------------------------------------------


def test_an_unknown_key_is_taken() -> None:
    assert judge(None, "fp", NOW, POLICY) is Verdict.TAKE


def test_the_same_request_running_elsewhere_is_waited_for() -> None:
    assert judge(record(), "fp", NOW, POLICY) is Verdict.WAIT


def test_the_same_request_finished_is_replayed() -> None:
    assert judge(record(KeyState.COMPLETED), "fp", NOW, POLICY) is Verdict.REPLAY


def test_another_request_under_a_live_key_is_a_mismatch_whatever_its_state() -> None:
    assert judge(record(), "other", NOW, POLICY) is Verdict.MISMATCH
    assert judge(record(KeyState.COMPLETED), "other", NOW, POLICY) is Verdict.MISMATCH
    assert judge(record(lease_left=-1), "other", NOW, POLICY) is Verdict.MISMATCH


def test_a_running_request_whose_lease_ran_out_is_taken_over() -> None:
    assert judge(record(lease_left=0), "fp", NOW, POLICY) is Verdict.TAKE_OVER
    assert judge(record(lease_left=0.001), "fp", NOW, POLICY) is Verdict.WAIT


def test_a_key_older_than_its_ttl_is_free_for_any_request() -> None:
    expired = record(KeyState.COMPLETED, age=timedelta(hours=24))
    almost = record(KeyState.COMPLETED, age=timedelta(hours=24) - timedelta(microseconds=1))

    assert judge(expired, "other", NOW, POLICY) is Verdict.TAKE
    assert judge(almost, "other", NOW, POLICY) is Verdict.MISMATCH
