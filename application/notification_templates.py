"""What a tenant's notification set-up (:mod:`application.notification_setup`) is made of: its
templates and settings as stored and shown, and the ports that store and check them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID, uuid5

import msgspec

from domain.messages import Channel, MessageKind, TemplateParts
from domain.notify_rules import NearThresholds


class TenantTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant's template for one message kind, channel and language."""

    id: UUID
    kind: str
    channel: str
    language: str
    subject: str | None = None
    text: str
    html: str | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def parts(self) -> TemplateParts:
        """The sources, as the engine renders them."""
        return TemplateParts(text=self.text, subject=self.subject, html=self.html)


class SmsCount(msgspec.Struct, frozen=True, kw_only=True):
    """What an SMS costs: its alphabet, segments, characters and the units left in the last
    segment before one more is needed."""

    encoding: str
    segments: int
    characters: int
    units: int
    remaining: int


class TemplatePreview(msgspec.Struct, frozen=True, kw_only=True):
    """A template rendered with sample values; ``sms`` is set for SMS templates."""

    subject: str | None = None
    text: str
    html: str | None = None
    sms: SmsCount | None = None


DEFAULT_REMINDER_MINUTES = (24 * 60, 60)
"""Appointment reminders' offsets before the start when the tenant has not chosen: a day, an
hour."""


class TenantNotificationSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Which message kinds a tenant sends, its "your turn is near" thresholds (``None``
    switches one off; either one reached is enough) and its appointment reminders' offsets."""

    kinds: dict[str, bool]
    """Every message kind, on or off."""
    turn_near_position: int | None
    """A waiting customer at this position or closer (1 = next) is near."""
    turn_near_eta_minutes: int | None
    """A waiting customer expected at the counter within this many minutes is near."""
    appointment_reminder_minutes: list[int] = msgspec.field(
        default_factory=lambda: list(DEFAULT_REMINDER_MINUTES)
    )
    """When appointment reminders go, in minutes before the start (empty: no reminder)."""
    updated_at: datetime | None = None
    """When the tenant last saved them; ``None`` while the defaults apply."""

    def is_on(self, kind: MessageKind) -> bool:
        """Whether messages of ``kind`` are sent."""
        return self.kinds.get(kind.value, True)

    @property
    def near(self) -> NearThresholds:
        """The thresholds as the turn-near rule takes them."""
        return NearThresholds(
            position=self.turn_near_position, eta_minutes=self.turn_near_eta_minutes
        )


class TemplateStore(Protocol):
    """Where a tenant's templates and settings are kept (every call scoped to one tenant)."""

    def list_templates(self, tenant_id: UUID) -> list[TenantTemplate]:
        """The tenant's templates by kind, channel, language."""
        ...

    def get_template(self, tenant_id: UUID, template_id: UUID) -> TenantTemplate | None: ...

    def insert_template(self, tenant_id: UUID, template: TenantTemplate) -> bool:
        """Add ``template``; ``False`` when the tenant has one with its id already."""
        ...

    def update_template(self, tenant_id: UUID, template: TenantTemplate) -> bool:
        """Replace the template with ``template``'s id; ``False`` when there is none."""
        ...

    def delete_template(self, tenant_id: UUID, template_id: UUID) -> bool: ...

    def get_settings(self, tenant_id: UUID) -> TenantNotificationSettings | None: ...

    def put_settings(self, tenant_id: UUID, settings: TenantNotificationSettings) -> None: ...


class TemplateEngine(Protocol):
    """Checks and renders templates (the sandboxed engine is an adapter)."""

    def check(self, kind: MessageKind, channel: Channel, parts: TemplateParts) -> None:
        """Raise an ``InvalidInput`` naming what is wrong with ``parts``."""
        ...

    def preview(
        self,
        kind: MessageKind,
        channel: Channel,
        language: str,
        parts: TemplateParts,
        values: Mapping[str, object],
    ) -> TemplatePreview: ...


def template_id(tenant_id: UUID, kind: MessageKind, channel: Channel, language: str) -> UUID:
    """A template's id, derived from what it is for: one per kind, channel and language."""
    return uuid5(tenant_id, f"notification-template:{kind}:{channel}:{language}")
