"""Validation and normalisation of a customer's personal data and preferences."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.contact import (
    MAX_METADATA_BYTES,
    MAX_METADATA_KEYS,
    check_customer_name,
    check_metadata,
    normalise_email,
    normalise_phone,
)
from domain.customers import Preferences, QuietHours
from domain.errors import InvalidInput

# -- phone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+33 6 12 34 56 78", None),
        ("+33612345678", None),
        ("+33 (0)6 12-34-56-78", None),
        ("06 12 34 56 78", "FR"),
        ("06.12.34.56.78", "fr"),
        ("0033 6 12 34 56 78", "FR"),
        ("+33 6 12 34 56 78", "CA"),  # international input ignores the region
    ],
)
def test_french_numbers_in_any_format_normalise_to_the_same_e164(raw, region):
    assert normalise_phone(raw, region) == "+33612345678"


@pytest.mark.parametrize(
    ("raw", "region"),
    [("(514) 555-0123", "CA"), ("514-555-0123", "CA"), ("+1 514 555 0123", None)],
)
def test_canadian_numbers_normalise_to_e164(raw, region):
    assert normalise_phone(raw, region) == "+15145550123"


def test_a_national_number_without_a_region_asks_for_one():
    with pytest.raises(InvalidInput, match="phone_region"):
        normalise_phone("06 12 34 56 78")


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("+33 1 23", None, "not a valid number"),
        ("06 12", "FR", "not a valid number in FR"),
        ("not a phone", "FR", "not a phone number"),
        ("", "FR", "not a phone number"),
        ("+1 514 555 0123" + "9" * 40, None, "at most 40"),
        ("06 12 34 56 78", "XX", "ISO country code"),
        ("06 12 34 56 78", "FRA", "ISO country code"),
    ],
)
def test_invalid_phones_are_refused_with_the_reason(raw, region, reason):
    with pytest.raises(InvalidInput, match=reason):
        normalise_phone(raw, region)


# -- email and name --------------------------------------------------------------------------------


def test_an_email_is_stripped_and_its_domain_lower_cased():
    assert normalise_email("  Jeanne.Dupont@Example.ORG ") == "Jeanne.Dupont@example.org"


@pytest.mark.parametrize("raw", ["jeanne", "jeanne@", "@example.org", "a b@example.org", ""])
def test_malformed_emails_are_refused_with_the_reason(raw):
    with pytest.raises(InvalidInput, match="is not valid: "):
        normalise_email(raw)


def test_a_name_is_stripped_and_must_not_be_blank_or_overlong():
    assert check_customer_name("  Jeanne Dupont ") == "Jeanne Dupont"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidInput, match="1 to 200 characters"):
            check_customer_name(bad)


# -- metadata --------------------------------------------------------------------------------------


def test_flat_scalar_metadata_within_bounds_is_accepted():
    metadata = {f"k{i}": v for i, v in enumerate(["a", 1, 2.5, True, None] * 6)}
    metadata.update(k30="x", k31="y")
    assert len(metadata) == MAX_METADATA_KEYS
    assert check_metadata(metadata) == metadata


def test_metadata_with_too_many_keys_is_refused():
    with pytest.raises(InvalidInput, match=f"33 keys; at most {MAX_METADATA_KEYS}"):
        check_metadata({f"k{i}": i for i in range(MAX_METADATA_KEYS + 1)})


def test_metadata_larger_than_4_kib_as_json_is_refused():
    just_fits = {"note": "x" * (MAX_METADATA_BYTES - len('{"note":""}'))}
    assert check_metadata(just_fits) == just_fits
    with pytest.raises(InvalidInput, match=f"4097 bytes as JSON; at most {MAX_METADATA_BYTES}"):
        check_metadata({"note": just_fits["note"] + "x"})
    # Bytes, not characters: a multi-byte character counts for its UTF-8 length.
    with pytest.raises(InvalidInput, match="bytes as JSON"):
        check_metadata({"note": "é" * 2100})


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({"nested": {"a": 1}}, "must be a string, number, boolean or null"),
        ({"list": [1, 2]}, "must be a string, number, boolean or null"),
        ({"": 1}, "keys must be 1 to 64 characters"),
        ({"k" * 65: 1}, "keys must be 1 to 64 characters"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_nested_or_malformed_metadata_is_refused(metadata, reason):
    with pytest.raises(InvalidInput, match=reason):
        check_metadata(metadata)


# -- preferences -----------------------------------------------------------------------------------


def test_preferences_keep_known_channels_once_in_a_stable_order():
    preferences = Preferences.parse(
        ["push", "sms", "push"], "fr", {"start": "22:00", "end": "07:30"}
    )

    assert preferences.channels == ("sms", "push")
    assert preferences.as_dict() == {
        "channels": ["sms", "push"],
        "language": "fr",
        "quiet_hours": {"start": "22:00", "end": "07:30"},
    }
    assert Preferences.from_dict(preferences.as_dict()) == preferences


@pytest.mark.parametrize(
    ("channels", "language", "quiet_hours", "reason"),
    [
        (["fax"], "en", None, "unknown channels \\['fax'\\]"),
        ([], "de", None, "unknown language 'de'"),
        ([], "en", {"start": "24:00", "end": "07:00"}, "quiet_hours.start must be a time HH:MM"),
        ([], "en", {"start": "22:00", "end": "7:00"}, "quiet_hours.end must be a time HH:MM"),
        ([], "en", {"start": "22:60", "end": "07:00"}, "quiet_hours.start"),
        ([], "en", {"start": "08:00", "end": "08:00"}, "must differ"),
        ([], "en", {"start": "22:00"}, "quiet_hours must be"),
        ([], "en", {"start": "22:00", "end": "07:00", "tz": "UTC"}, "quiet_hours must be"),
    ],
)
def test_invalid_preferences_are_refused_with_the_reason(channels, language, quiet_hours, reason):
    with pytest.raises(InvalidInput, match=reason):
        Preferences.parse(channels, language, quiet_hours)


def test_quiet_hours_may_span_midnight():
    night = QuietHours.parse({"start": "22:00", "end": "07:00"})

    assert night.contains(time(23, 30))
    assert night.contains(time(0, 0))
    assert night.contains(time(6, 59))
    assert not night.contains(time(7, 0))
    assert not night.contains(time(12, 0))
    assert night.contains(time(22, 0))


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@given(start=minutes, end=minutes, now=minutes)
def test_quiet_hours_contain_exactly_the_minutes_from_start_up_to_end(start, end, now):
    assume(start != end)
    quiet = QuietHours.parse({"start": _hhmm(start), "end": _hhmm(end)})
    minutes_into_window = (now - start) % (24 * 60)
    window_length = (end - start) % (24 * 60)

    assert quiet.contains(time(now // 60, now % 60)) == (minutes_into_window < window_length)


def _hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"
