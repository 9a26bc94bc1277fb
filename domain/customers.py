"""The Customer aggregate: who a ticket is for, without any personal data in its events.

A customer's name, phone, email, metadata and push token live in a plain table (see
``domain.contact``) that erasure deletes; the events only say that a customer exists in a tenant,
which contact fields changed (by name, never by value), their notification preferences, and
that they were erased. Tickets keep the customer's id, so statistics survive erasure unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import CustomerNotFound, InvalidInput

CONTACT_FIELDS = ("name", "phone", "email", "metadata", "push_token")
LANGUAGES = ("fr", "en")
HOUR_MINUTE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Channel(StrEnum):
    """How a customer may be notified."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


def _clock_time(value: str, what: str) -> time:
    match = HOUR_MINUTE.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"quiet_hours.{what} must be a time HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class QuietHours:
    """A daily window without notifications, in the site's local time; it may span midnight."""

    start: str
    end: str

    @classmethod
    def parse(cls, value: Mapping[str, Any]) -> QuietHours:
        """From ``{"start": "HH:MM", "end": "HH:MM"}``, or :class:`InvalidInput`."""
        if not isinstance(value, Mapping) or set(value) != {"start", "end"}:
            raise InvalidInput('quiet_hours must be {"start": "HH:MM", "end": "HH:MM"}')
        start, end = _clock_time(value["start"], "start"), _clock_time(value["end"], "end")
        if start == end:
            raise InvalidInput("quiet_hours start and end must differ")
        return cls(start=value["start"], end=value["end"])

    def contains(self, moment: time) -> bool:
        """True if ``moment`` (local time) falls in the window; ``end`` is excluded."""
        start, end = _clock_time(self.start, "start"), _clock_time(self.end, "end")
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end  # the window spans midnight


@dataclass(frozen=True)
class Preferences:
    """How and in which language a customer wants to hear from the tenant."""

    channels: tuple[str, ...] = ()
    language: str = "en"
    quiet_hours: QuietHours | None = None

    @classmethod
    def parse(
        cls,
        channels: Iterable[str] = (),
        language: str = "en",
        quiet_hours: Mapping[str, Any] | None = None,
    ) -> Preferences:
        """Validated preferences; channels are de-duplicated and kept in a stable order."""
        chosen = list(channels)
        unknown = sorted(set(chosen) - {c.value for c in Channel})
        if unknown:
            names = ", ".join(c.value for c in Channel)
            raise InvalidInput(f"unknown channels {unknown}; expected some of {names}")
        if language not in LANGUAGES:
            raise InvalidInput(f"unknown language {language!r}; expected one of fr, en")
        return cls(
            channels=tuple(c.value for c in Channel if c.value in chosen),
            language=language,
            quiet_hours=QuietHours.parse(quiet_hours) if quiet_hours is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values, as recorded in events."""
        quiet = self.quiet_hours
        return {
            "channels": list(self.channels),
            "language": self.language,
            "quiet_hours": {"start": quiet.start, "end": quiet.end} if quiet else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preferences:
        """The inverse of :meth:`as_dict`."""
        return cls.parse(data["channels"], data["language"], data["quiet_hours"])


class Customer(Aggregate):
    """A customer of a tenant. Erasure is final: an erased customer cannot change again."""

    @event("Registered")
    def __init__(self, tenant_id: UUID, preferences: dict[str, Any]) -> None:
        self.tenant_id = tenant_id
        self.preferences = preferences
        self.erased = False

    def check_live(self) -> None:
        """Raise :class:`CustomerNotFound` if the customer was erased."""
        if self.erased:
            raise CustomerNotFound(f"customer {self.id} was erased")

    def change_contact(self, fields: Iterable[str]) -> None:
        """Record that these contact fields changed; the new values stay out of the event."""
        self.check_live()
        changed = [name for name in CONTACT_FIELDS if name in set(fields)]
        unknown = set(fields) - set(CONTACT_FIELDS)
        if unknown:
            raise InvalidInput(f"not contact fields: {sorted(unknown)}")
        if changed:
            self._contact_changed(fields=changed)

    @event("ContactChanged")
    def _contact_changed(self, fields: list[str]) -> None:
        pass  # the values live outside the event store; the event marks that and when they moved

    def change_preferences(self, preferences: Preferences) -> None:
        """Replace the notification preferences (no event when nothing changes)."""
        self.check_live()
        if preferences.as_dict() != self.preferences:
            self._preferences_changed(preferences=preferences.as_dict())

    @event("PreferencesChanged")
    def _preferences_changed(self, preferences: dict[str, Any]) -> None:
        self.preferences = preferences

    def erase(self) -> None:
        """Mark the customer erased; the caller deletes their personal data in the same save."""
        self.check_live()
        self._erased()

    @event("Erased")
    def _erased(self) -> None:
        self.erased = True
