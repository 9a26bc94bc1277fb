"""SMS length: GSM-7 and UCS-2 segments on known examples, and the invariants of the count."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.sms import GSM7_BASIC, GSM7_EXTENSION, SmsEncoding, sms_length

FAST = settings(max_examples=300, deadline=None)
GSM, UCS = SmsEncoding.GSM7, SmsEncoding.UCS2

gsm_basic = st.sampled_from(sorted(GSM7_BASIC))
gsm_any = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))
anything = st.one_of(gsm_any, st.characters(codec="utf-8", exclude_categories=("Cs",)))
texts = st.text(alphabet=anything, max_size=400)


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "characters", "units"),
    [
        ("", GSM, 0, 0, 0),
        ("a", GSM, 1, 1, 1),
        ("a" * 160, GSM, 1, 160, 160),
        ("a" * 161, GSM, 2, 161, 161),
        ("a" * 306, GSM, 2, 306, 306),
        ("a" * 307, GSM, 3, 307, 307),
        ("€" * 80, GSM, 1, 80, 160),
        ("€" * 81, GSM, 2, 81, 162),
        ("Votre tour approche, présentez-vous au guichet 3 à l'accueil.", GSM, 1, 61, 61),
        ("Ça y est", GSM, 1, 8, 8),
        ("Merci de votre reçu", UCS, 1, 19, 19),
        ("Fête", UCS, 1, 4, 4),
        ("ç" * 70, UCS, 1, 70, 70),
        ("ç" * 71, UCS, 2, 71, 71),
        ("ç" * 134, UCS, 2, 134, 134),
        ("ç" * 135, UCS, 3, 135, 135),
        ("😀" * 35, UCS, 1, 35, 70),
        ("😀" * 36, UCS, 2, 36, 72),
    ],
)
def test_known_texts_have_their_carrier_length(text, encoding, segments, characters, units):
    length = sms_length(text)
    assert (length.encoding, length.segments, length.characters, length.units) == (
        encoding,
        segments,
        characters,
        units,
    )


def test_an_extension_character_is_never_split_across_two_parts():
    # 306 septets would fill two parts of 153 exactly, but only by splitting the escape pair.
    straddling = sms_length("a" * 152 + "€" + "a" * 152)
    assert straddling.units == 306
    assert straddling.segments == 3
    assert sms_length("a" * 151 + "€" + "a" * 153).segments == 2


def test_a_surrogate_pair_is_never_split_across_two_parts():
    # 134 units would fill two parts of 67 exactly, but only by splitting the emoji.
    straddling = sms_length("ç" * 66 + "😀" + "ç" * 66)
    assert straddling.units == 134
    assert straddling.segments == 3
    assert sms_length("ç" * 65 + "😀" + "ç" * 67).segments == 2


def test_remaining_counts_down_to_the_next_segment():
    assert sms_length("").remaining == 160
    assert sms_length("a" * 150).remaining == 10
    assert sms_length("a" * 161).remaining == 153 - 8
    assert sms_length("ç" * 60).remaining == 10


@FAST
@given(texts)
def test_gsm7_is_chosen_exactly_when_every_character_has_a_gsm7_code(text):
    expected = GSM if all(c in GSM7_BASIC | GSM7_EXTENSION for c in text) else UCS
    assert sms_length(text).encoding is expected


@FAST
@given(texts, anything, st.integers(min_value=0, max_value=400))
def test_adding_a_character_anywhere_never_lowers_the_segments(text, char, where):
    index = min(where, len(text))
    longer = text[:index] + char + text[index:]
    assert sms_length(longer).segments >= sms_length(text).segments


@FAST
@given(texts)
def test_segments_hold_every_unit_and_are_not_more_than_needed(text):
    length = sms_length(text)
    if not text:
        assert length.segments == 0
        return
    single, part = (160, 153) if length.encoding is GSM else (70, 67)
    if length.units <= single:
        assert length.segments == 1
    else:
        # Enough room for every unit; at most one unit per part is lost to an unsplit pair.
        assert length.segments * part >= length.units
        assert (length.segments - 1) * (part - 1) < length.units
    assert length.characters == len(text)
    assert 0 <= length.remaining <= single


@FAST
@given(st.text(alphabet=gsm_basic, max_size=500))
def test_basic_gsm7_text_costs_one_septet_a_character(text):
    length = sms_length(text)
    assert length.units == len(text)
    expected = 0 if not text else 1 if len(text) <= 160 else -(-len(text) // 153)
    assert length.segments == expected
