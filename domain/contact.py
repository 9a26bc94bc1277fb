"""A customer's personal data, validated and normalised: name, phone, email, custom metadata, and
the push token of the customer's app.

None of these values ever goes into an event; they live in a plain table that erasure deletes.
Phone numbers are stored in E.164 (``+33612345678``) so any input format finds the same customer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidInput

MAX_NAME_LENGTH = 200
MAX_PHONE_INPUT_LENGTH = 40
MAX_METADATA_KEYS = 32
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_BYTES = 4096
SCALARS = (str, int, float, bool, type(None))
MAX_PUSH_TOKEN_LENGTH = 4096
PUSH_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]+")
"""The characters of an FCM registration token (letters, digits, ``_ : . -``)."""


def check_customer_name(name: str) -> str:
    """The stripped name, refusing blank or overlong ones."""
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_NAME_LENGTH:
        raise InvalidInput(f"customer name must be 1 to {MAX_NAME_LENGTH} characters")
    return stripped


def check_region(region: str) -> str:
    """An ISO 3166-1 alpha-2 region code that phone numbers can be read in (``FR``, ``CA``)."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"phone_region {region!r} is not an ISO country code like FR or CA")
    return code


def normalise_phone(raw: str, region: str | None = None) -> str:
    """The E.164 form of ``raw``: international input (``+33 6 12 ...``), or a national number
    (``06 12 ...``) read in ``region``. Raises :class:`InvalidInput` saying what is wrong."""
    if len(raw) > MAX_PHONE_INPUT_LENGTH:
        raise InvalidInput(f"phone must be at most {MAX_PHONE_INPUT_LENGTH} characters")
    home = check_region(region) if region else None
    try:
        number = phonenumbers.parse(raw, home)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise InvalidInput(
                f"phone {raw!r} has no country code: write it as +<country code>... "
                "or give phone_region (like FR)"
            ) from None
        raise InvalidInput(f"phone {raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        where = f" in {home}" if home and not raw.strip().startswith("+") else ""
        raise InvalidInput(f"phone {raw!r} is not a valid number{where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """The normalised address (domain lower-cased), or :class:`InvalidInput` with the reason.

    Only the syntax is checked: no DNS lookup, so validation never waits on the network.
    """
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidInput(f"email {raw!r} is not valid: {error}") from None


def check_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A tenant's custom fields for a customer: a flat object of scalars, small and bounded.

    Bounded so one customer record cannot grow without limit; flat so every value can be shown
    and searched as it is.
    """
    if not isinstance(metadata, Mapping):
        raise InvalidInput("metadata must be a JSON object")
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidInput(f"metadata has {len(metadata)} keys; at most {MAX_METADATA_KEYS}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            raise InvalidInput(f"metadata keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters")
        if not isinstance(value, SCALARS):
            raise InvalidInput(
                f"metadata value of {key!r} must be a string, number, boolean or null"
            )
    size = len(json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise InvalidInput(f"metadata is {size} bytes as JSON; at most {MAX_METADATA_BYTES}")
    return dict(metadata)


def check_push_token(raw: str) -> str:
    """A device registration token as the customer's app got it from FCM: one line of token
    characters, bounded. What FCM makes of it is known only when a push is sent."""
    token = raw.strip()
    if not token or len(token) > MAX_PUSH_TOKEN_LENGTH:
        raise InvalidInput(f"push token must be 1 to {MAX_PUSH_TOKEN_LENGTH} characters")
    if PUSH_TOKEN.fullmatch(token) is None:
        raise InvalidInput("push token may hold only letters, digits and _ : . -")
    return token
