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
from datetime import UTC, datetime, time, timedelta
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
    APPOINTMENT_CONFIRMED = "appointment_confirmed"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_REMINDER = "appointment_reminder"
    APPOINTMENT_CHECK_IN_OPEN = "appointment_check_in_open"
    FEEDBACK_REQUEST = "feedback_request"
    JOIN_CODE = "join_code"


APPOINTMENT_KINDS = frozenset(
    {
        MessageKind.APPOINTMENT_CONFIRMED,
        MessageKind.APPOINTMENT_RESCHEDULED,
        MessageKind.APPOINTMENT_CANCELLED,
        MessageKind.APPOINTMENT_REMINDER,
        MessageKind.APPOINTMENT_CHECK_IN_OPEN,
    }
)
"""The kinds that tell a customer about an appointment (rather than a ticket)."""


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
# An appointment has no number or position yet: its service (``queue`` names it too, for
# templates written before), the local ``date`` and ``time`` of its start, its booking ``code``.
_APPOINTMENT = frozenset({"service", "queue", "site", "date", "time", "code", "link"})

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
    MessageKind.APPOINTMENT_CONFIRMED: _APPOINTMENT,
    MessageKind.APPOINTMENT_RESCHEDULED: _APPOINTMENT,
    MessageKind.APPOINTMENT_CANCELLED: _APPOINTMENT,
    MessageKind.APPOINTMENT_REMINDER: _APPOINTMENT,
    MessageKind.APPOINTMENT_CHECK_IN_OPEN: _APPOINTMENT,
    MessageKind.FEEDBACK_REQUEST: frozenset({"number", "queue", "site", "link"}),
    # Sent before there is a ticket: the one-time code of a remote join, valid ``minutes``
    # (``link`` is empty: the customer is on the join page already).
    MessageKind.JOIN_CODE: frozenset({"code", "minutes", "site", "link"}),
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
        it is outside), so a message held back can be scheduled for then. Read on the local
        clock: an end the spring change skips is when the clock jumps past it; an end the autumn
        change repeats is the one after the pass ``instant`` is in."""
        if not self.contains(instant):
            return instant
        zone = ZoneInfo(self.timezone)
        local = instant.astimezone(zone)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        # Both readings of the wall-clock end: equal on an ordinary day, an hour apart when the
        # clock repeats it (fold 0 first) or skips it (fold 0 then falls after the jump). When
        # the jump lands back in the window (it skips the end but not the start), the window
        # goes on to the next day's end.
        for _ in range(3):
            readings = sorted(
                datetime.combine(day, self.end, tzinfo=zone).replace(fold=fold).astimezone(UTC)
                for fold in (0, 1)
            )
            for reading in readings:
                if reading >= instant and not self.contains(reading):
                    if reading.astimezone(zone).time().replace(tzinfo=None) != self.end:
                        reading = self._jump_before(max(readings[0], instant), reading)
                    return reading.astimezone(instant.tzinfo)
            day += timedelta(days=1)
        raise AssertionError("quiet hours end within three days")  # pragma: no cover

    def _jump_before(self, inside: datetime, outside: datetime) -> datetime:
        """The instant the clock jumps over a skipped end, between an instant still in the
        window and one past it (offsets change on whole seconds)."""
        low, high = inside.replace(microsecond=0), outside  # contains(low), not contains(high)
        if not self.contains(low):
            return low
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            middle = middle.replace(microsecond=0)
            if self.contains(middle):
                low = middle
            else:
                high = middle
        return high


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
