"""How a setting is declared and read: each field names its environment variable; the value is
converted and checked by msgspec (or a small parser for rates, networks, flags and log levels),
and a bad value becomes one line naming the variable and the form it expects."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from ipaddress import ip_network
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import msgspec
from limits import parse as parse_rate

T = TypeVar("T")

Count = Annotated[int, msgspec.Meta(ge=0)]
"""A whole number, 0 or more."""
Positive = Annotated[int, msgspec.Meta(ge=1)]
"""A whole number, 1 or more."""
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
"""A finite number of seconds, 0 or more."""
Interval = Annotated[float, msgspec.Meta(gt=0)]
"""A finite number of seconds, more than 0 (a wait of 0 would spin)."""

MIN_SECRET_BYTES = 32
"""The HS256 key's minimum length; infrastructure/identity/tokens.py checks it when signing."""


class SettingsError(ValueError):
    """One or more environment variables hold a value that cannot be used; each problem names
    its variable, the form expected and the value given."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n" + "\n".join(f"  {line}" for line in problems))
        self.problems = problems


class Unusable(ValueError):
    """Raised by a parser that can say what is wrong with a value (an unreadable file, a missing
    key); the error then adds the reason to the expected form."""


@dataclass(frozen=True)
class Variable:
    """The environment variable a settings field is read from."""

    name: str
    parse: Callable[[str], Any] | None = None
    """Turns the (stripped, non-empty) text into the value, raising ValueError; None means
    msgspec converts it to the field's type."""
    form: str | None = None
    """What a good value looks like, for the error; derived from the type when None."""
    secret: bool = False
    """Never repeat the value in an error."""

    def read(self, raw: str | None, hint: Any, default: Any) -> Any:
        """The field's value from ``raw`` (None when unset); ValueError names the variable."""
        if hint is str and self.parse is None:
            return default if raw is None else raw  # free text, taken as given (even empty)
        if raw is None or not raw.strip():
            return default
        text = raw if _is_text(hint) else raw.strip()
        reason = ""
        try:
            if self.parse is not None:
                return self.parse(text)
            value = msgspec.convert(text, hint, strict=False)
        except Unusable as error:
            value, reason = None, f" ({error})"
        except (ValueError, msgspec.ValidationError):
            value = None
        else:
            if not isinstance(value, float) or math.isfinite(value):
                return value
        got = f"got {len(raw.encode())} bytes" if self.secret else f"got {raw!r}"
        raise ValueError(f"{self.name} must be {self.form or form_of(hint)}; {got}{reason}")


def env(name: str, default: Any, **options: Any) -> Any:
    """A dataclass field read from the environment variable ``name``; ``default`` when unset or
    empty. ``options``: ``parse``, ``form``, ``secret`` (see :class:`Variable`)."""
    return field(default=default, metadata={"variable": Variable(name, **options)})


def read_group(cls: type[T], environ: Mapping[str, str], problems: list[str]) -> T | None:
    """An instance of the settings dataclass ``cls`` read from ``environ``; None (and lines
    appended to ``problems``) when some of its variables hold bad values."""
    hints = get_type_hints(cls, include_extras=True)
    values, failed = {}, False
    for item in fields(cls):  # type: ignore[arg-type]
        variable: Variable = item.metadata["variable"]
        try:
            values[item.name] = variable.read(
                environ.get(variable.name), hints[item.name], item.default
            )
        except ValueError as error:
            problems.append(str(error))
            failed = True
    return None if failed else cls(**values)


def group_variables(cls: type, *, typed_only: bool = False) -> Iterator[str]:
    """The variables the settings dataclass ``cls`` reads (with ``typed_only``, those whose
    value is checked: numbers, choices, rates, networks, flags, keys)."""
    hints = get_type_hints(cls, include_extras=True)
    for item in fields(cls):
        variable: Variable = item.metadata["variable"]
        free_text = _is_text(hints[item.name]) and variable.parse is None
        if not (typed_only and free_text):
            yield variable.name


def form_of(hint: Any) -> str:
    """What a good value of the type ``hint`` looks like, in words."""
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(hint))
    base, *extras = get_args(hint) if get_origin(hint) is Annotated else (hint,)
    noun = "a whole number" if base is int else "a number of seconds"
    meta = next((extra for extra in extras if isinstance(extra, msgspec.Meta)), None)
    if meta is None:
        return noun
    if meta.ge is not None and meta.le is not None:
        return f"{noun} from {meta.ge} to {meta.le}"
    if meta.gt is not None:
        return f"{noun}, more than {meta.gt}"
    return f"{noun}, {meta.ge} or more"


def _is_text(hint: Any) -> bool:
    return hint is str or hint == (str | None)


def flag(text: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case)."""
    value = text.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


FLAG = "true or false (or 1/0, yes/no, on/off)"


def rate(text: str) -> str:
    """A ``limits`` rate such as ``30/minute``, kept as text."""
    parse_rate(text)
    return text


RATE = "a rate such as 30/minute"


def networks(text: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, or ``*``."""
    entries = tuple(part.strip() for part in text.split(",") if part.strip())
    for entry in entries:
        if entry != "*":
            ip_network(entry, strict=False)
    return entries


NETWORKS = "addresses or CIDR networks separated by commas (or *)"


def log_level(text: str) -> str:
    """A standard logging level name, upper-cased."""
    level = text.upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(text)
    return level


LOG_LEVEL = "a log level: DEBUG, INFO, WARNING, ERROR or CRITICAL"


def signing_key(text: str) -> str:
    """An HS256 key of at least MIN_SECRET_BYTES bytes."""
    if len(text.encode()) < MIN_SECRET_BYTES:
        raise ValueError("too short")
    return text


SIGNING_KEY = f"at least {MIN_SECRET_BYTES} bytes (or unset, for a generated key)"
