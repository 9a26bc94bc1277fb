"""The customer message model: what kinds of message exist, what each may say, in which
languages, when the customer does not want to hear from us, and how long an SMS is.

Templates are written by tenants with ``{number}``-style placeholders; which names a kind may use
is a domain rule (:func:`check_template_variables`), so the engine that renders them stays an
adapter. SMS length counting lives in :mod:`domain.sms`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidInput


class MessageKind(StrEnum):
    """Why a customer is being told something; each kind has its own template and setting."""

    TICKET_ISSUED = "ticket_issued"
    TURN_NEAR = "turn_near"
    CALLED = "called"
    RECALLED = "recalled"
    TRANSFERRED = "transferred"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    FREE_TEXT = "free_text"
    APPOINTMENT_REMINDER = "appointment_reminder"
    FEEDBACK_REQUEST = "feedback_request"


class Channel(StrEnum):
    """How a message reaches the customer. Email has a subject and an HTML part; push a title."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    PUSH = "push"


VARIABLES = ("number", "position", "eta_minutes", "counter", "queue", "site", "link")
"""Every placeholder the ticket messages know, as the tenant writes it: ``{number}``."""

_WHERE = frozenset({"number", "queue", "site", "link"})
_WAITING = _WHERE | {"position", "eta_minutes"}
_AT_COUNTER = _WHERE | {"counter"}

KIND_VARIABLES: dict[MessageKind, frozenset[str]] = {
    MessageKind.TICKET_ISSUED: _WAITING,
    MessageKind.TURN_NEAR: _WAITING,
    MessageKind.CALLED: _AT_COUNTER,
    MessageKind.RECALLED: _AT_COUNTER,
    MessageKind.TRANSFERRED: _WAITING,
    MessageKind.NO_SHOW: _WHERE,
    MessageKind.CANCELLED: _WHERE,
    # The staff member's words arrive as a value, never as template text of their own.
    MessageKind.FREE_TEXT: _WHERE | {"message"},
    # An appointment has no number or position yet; ``time`` is its local start (``14:30``).
    MessageKind.APPOINTMENT_REMINDER: frozenset({"queue", "site", "link", "time"}),
    MessageKind.FEEDBACK_REQUEST: frozenset({"number", "queue", "site", "link"}),
}
"""Which placeholders each kind may use: the values the notifier has when it sends that kind."""

LANGUAGES = ("fr", "en")
"""Languages with built-in templates; the first is the default when nothing else is known."""
DEFAULT_LANGUAGE = LANGUAGES[0]


class TemplateError(InvalidInput):
    """Base of the refusals of a tenant's template on save (the HTTP layer answers 422)."""

    code = "invalid_template"


class UnknownTemplateVariable(TemplateError):
    """Raised when a template uses a placeholder its message kind does not provide."""

    code = "unknown_template_variable"

    def __init__(self, kind: MessageKind, names: Iterable[str], field: str = "text") -> None:
        self.kind = kind
        self.names = sorted(set(names))
        self.field = field
        allowed = ", ".join(f"{{{name}}}" for name in sorted(KIND_VARIABLES[kind]))
        unknown = ", ".join(f"{{{name}}}" for name in self.names)
        super().__init__(f"{field}: unknown variable {unknown} for {kind}; use {allowed}")


class TemplateSyntaxInvalid(TemplateError):
    """Raised when a template cannot be parsed, or uses a construct templates may not use
    (attribute access, calls, loops, includes, ...); names the field and line."""

    code = "template_syntax"

    def __init__(self, field: str, line: int, reason: str) -> None:
        self.field = field
        self.line = line
        self.reason = reason
        super().__init__(f"{field}, line {line}: {reason}")


def check_message_kind(value: str) -> MessageKind:
    """The kind named ``value``, or :class:`InvalidInput` listing the kinds."""
    try:
        return MessageKind(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in MessageKind)
        raise InvalidInput(f"unknown message kind {value!r}; use one of {kinds}") from None


def check_template_variables(kind: MessageKind, names: Iterable[str], field: str = "text") -> None:
    """Raise :class:`UnknownTemplateVariable` when any of ``names`` is not offered by ``kind``."""
    unknown = set(names) - KIND_VARIABLES[kind]
    if unknown:
        raise UnknownTemplateVariable(kind, unknown, field)


def check_language(value: str) -> str:
    """A supported language code (``fr``, ``en``); ``en-GB`` and ``FR`` are read as their base."""
    base = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if base not in LANGUAGES:
        raise InvalidInput(
            f"language {value!r} is not supported; use one of {', '.join(LANGUAGES)}"
        )
    return base


def pick_language(*preferences: str | None) -> str:
    """The first supported language among the customer's, the site's, ... else the default."""
    for preference in preferences:
        if preference:
            try:
                return check_language(preference)
            except InvalidInput:
                continue
    return DEFAULT_LANGUAGE


_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock(value: str, where: str) -> time:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"{where}: {value!r} is not a time; use HH:MM from 00:00 to 23:59")
    return time(int(match.group(1)), int(match.group(2)))


def check_timezone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``), or :class:`InvalidInput`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"time zone {name!r} is unknown; use an IANA name like Europe/Paris"
        ) from None


@dataclass(frozen=True)
class QuietHours:
    """A daily local window (``22:00``-``07:30``, which spans midnight) during which the customer
    receives nothing. The start is inside the window, the end is not; equal ends mean no window."""

    start: time
    end: time
    timezone: str

    @classmethod
    def parse(cls, start: str, end: str, timezone: str) -> QuietHours:
        """Quiet hours from ``HH:MM`` strings and an IANA zone, or :class:`InvalidInput`."""
        check_timezone(timezone)
        return cls(_clock(start, "quiet_hours.start"), _clock(end, "quiet_hours.end"), timezone)

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` (timezone-aware) falls in the window, read on the local clock."""
        if instant.tzinfo is None:
            raise InvalidInput("quiet hours need a timezone-aware instant")
        local = instant.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, instant: datetime) -> datetime:
        """The first instant at or after ``instant`` outside the window (``instant`` itself when
        it is outside), so a message held back can be scheduled for then."""
        if not self.contains(instant):
            return instant
        zone = ZoneInfo(self.timezone)
        local = instant.astimezone(zone)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        # A wall-clock end that a spring-forward gap skips maps to the instant after the gap.
        end = datetime.combine(day, self.end, tzinfo=zone)
        return max(end.astimezone(instant.tzinfo), instant)


CHANNEL_FIELDS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("subject", "text", "html"),
    Channel.PUSH: ("subject", "text"),
    Channel.SMS: ("text",),
    Channel.WHATSAPP: ("text",),
}
"""The parts a channel's template has; the first ones listed up to ``text`` are required."""
MAX_TEMPLATE_LENGTH = {"subject": 200, "text": 2000, "html": 20000}


@dataclass(frozen=True)
class TemplateParts:
    """A template's source for one kind, language and channel: ``subject`` (email subject, push
    title), ``text`` (the plain body: the whole SMS, push or WhatsApp message) and ``html``
    (email only; when absent the HTML part is made from the text)."""

    text: str
    subject: str | None = None
    html: str | None = None

    def fields(self) -> dict[str, str]:
        """The parts that are set, by name."""
        parts = {"subject": self.subject, "text": self.text, "html": self.html}
        return {name: source for name, source in parts.items() if source is not None}


def check_template_parts(channel: Channel, parts: TemplateParts) -> None:
    """Raise :class:`InvalidInput` when ``parts`` lacks what ``channel`` needs, has a part the
    channel cannot carry, or a part is blank or too long."""
    allowed = CHANNEL_FIELDS[channel]
    required = allowed[: allowed.index("text") + 1]
    fields = parts.fields()
    extra = sorted(set(fields) - set(allowed))
    if extra:
        raise InvalidInput(
            f"a {channel} template has no {', '.join(extra)}; its parts are {', '.join(allowed)}"
        )
    for name in required:
        if not fields.get(name, "").strip():
            raise InvalidInput(f"a {channel} template needs a non-blank {name}")
    for name, source in fields.items():
        if len(source) > MAX_TEMPLATE_LENGTH[name]:
            raise InvalidInput(f"{name} is longer than {MAX_TEMPLATE_LENGTH[name]} characters")
