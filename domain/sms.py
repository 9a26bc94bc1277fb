"""How many SMS segments a text costs, as carriers and Twilio count them.

A text made only of GSM 03.38 characters travels in GSM-7: 160 septets in a single message,
153 per part once concatenated (the rest of each part carries the joining header). The
extension-table characters (``€ [ ] { } \\ ^ ~ |`` and form feed) take two septets, an escape and
the character, and the pair is never split across parts. Any other character (``ç``, ``ê``,
an emoji) makes the whole text UCS-2: 70 UTF-16 code units alone, 67 per part, and a
character outside the BMP takes two units that stay together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The default alphabet's 127 characters (its 128th code is the escape to the extension)."""
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
"""Characters reached through the escape: each costs two septets."""


class SmsEncoding(StrEnum):
    """The alphabet a text is sent in; UCS-2 as soon as one character is outside GSM-7."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class Limits:
    """Units in a single message and in each part of a concatenated one."""

    single: int
    part: int


LIMITS = {SmsEncoding.GSM7: Limits(160, 153), SmsEncoding.UCS2: Limits(70, 67)}


@dataclass(frozen=True)
class SmsLength:
    """What a text costs: its encoding, segments (0 for an empty text), characters as the
    reader sees them, units (septets or UTF-16 code units), and units left in the last segment
    before one more is needed."""

    encoding: SmsEncoding
    segments: int
    characters: int
    units: int
    remaining: int


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` has a GSM-7 code (basic or extension)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _unit_costs(text: str, encoding: SmsEncoding) -> list[int]:
    if encoding is SmsEncoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def sms_length(text: str) -> SmsLength:
    """The encoding, segment count and size of ``text`` as one SMS (see the module's doc)."""
    encoding = SmsEncoding.GSM7 if is_gsm7(text) else SmsEncoding.UCS2
    limits = LIMITS[encoding]
    costs = _unit_costs(text, encoding)
    units = sum(costs)
    if units == 0:
        return SmsLength(encoding, 0, 0, 0, limits.single)
    if units <= limits.single:
        return SmsLength(encoding, 1, len(text), units, limits.single - units)
    # Fill parts in order; a two-unit character that does not fit in a part starts the next.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > limits.part:
            segments, used = segments + 1, 0
        used += cost
    return SmsLength(encoding, segments, len(text), units, limits.part - used)
