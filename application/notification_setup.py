"""A tenant's own notification set-up: its message templates and its notification settings.

A template replaces the built-in one for one message kind, channel and language; deleting it
brings the built-in back. Each is checked when saved by the :class:`TemplateEngine` (unknown
variables, syntax, refused constructs: 422 naming the part and the line). The settings say
which message kinds are sent (all by default) and when "your turn is near" goes out (a
position, an ETA in minutes, either one reached is enough). The notifier reads both through
:meth:`NotificationSetup.template_for` and :meth:`NotificationSetup.get_settings`.

Both live in write-side tables rather than in events on the tenant: they are configuration
edited in place (an HTML body runs to kilobytes), no follower or read model needs their
history, and the event contract on Kafka would otherwise carry every tenant's template text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec

from application.context import CommandContext
from application.notification_templates import (
    DEFAULT_REMINDER_MINUTES,
    TemplateEngine,
    TemplatePreview,
    TemplateStore,
    TenantNotificationSettings,
    TenantTemplate,
    template_id,
)
from application.paging import Page, PageRequest, paginate
from domain.errors import Conflict, InvalidInput, ResourceNotFound
from domain.messages import (
    Channel,
    MessageKind,
    TemplateParts,
    check_language,
    check_message_kind,
)
from domain.notify_rules import NearThresholds


class TemplateNotFound(ResourceNotFound):
    """Raised when a tenant has no template with the id asked for."""

    code = "template_not_found"


class TemplateExists(Conflict):
    """Raised when a tenant creates a second template for one kind, channel and language."""

    code = "template_exists"


def check_channel(value: str) -> Channel:
    """The channel named ``value``, or :class:`InvalidInput` listing the channels."""
    try:
        return Channel(value)
    except ValueError:
        channels = ", ".join(channel.value for channel in Channel)
        raise InvalidInput(f"unknown channel {value!r}; use one of {channels}") from None


MAX_NEAR_ETA_MINUTES = 24 * 60
MAX_NEAR_POSITION = 1000
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 30 * 24 * 60


class NotificationSetup:
    """The tenant's templates and notification settings (see the module docstring)."""

    def __init__(
        self,
        store: TemplateStore,
        engine: TemplateEngine,
        default_near: NearThresholds,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.clock = clock
        self.engine = engine
        self.default_near = default_near
        """The thresholds of a tenant that never saved its own (the process's settings)."""

    # -- templates ---------------------------------------------------------------------------

    def list_templates(
        self,
        tenant_id: UUID,
        page: PageRequest | None = None,
        kind: str | None = None,
        channel: str | None = None,
        language: str | None = None,
    ) -> Page[TenantTemplate]:
        """The tenant's templates by kind, channel and language, optionally only some."""
        wanted_kind = check_message_kind(kind) if kind else None
        wanted_channel = check_channel(channel) if channel else None
        wanted_language = check_language(language) if language else None
        found = [
            template
            for template in self.store.list_templates(tenant_id)
            if (wanted_kind is None or template.kind == wanted_kind)
            and (wanted_channel is None or template.channel == wanted_channel)
            and (wanted_language is None or template.language == wanted_language)
        ]
        return paginate(found, lambda template: str(template.id), page or PageRequest())

    def get_template(self, tenant_id: UUID, template_id: UUID) -> TenantTemplate:
        """One of the tenant's templates, or :class:`TemplateNotFound`."""
        found = self.store.get_template(tenant_id, template_id)
        if found is None:
            raise TemplateNotFound(f"template {template_id} not found")
        return found

    def create_template(
        self,
        context: CommandContext,
        kind: str,
        channel: str,
        language: str,
        parts: TemplateParts,
    ) -> TenantTemplate:
        """Save the tenant's template for ``kind``, ``channel`` and ``language`` once checked;
        :class:`TemplateExists` when it has one (change it with :meth:`update_template`)."""
        tenant_id = _tenant(context)
        now = self.clock()
        checked_kind = check_message_kind(kind)
        checked_channel = check_channel(channel)
        checked_language = check_language(language)
        self.engine.check(checked_kind, checked_channel, parts)
        template = TenantTemplate(
            id=template_id(tenant_id, checked_kind, checked_channel, checked_language),
            kind=checked_kind.value,
            channel=checked_channel.value,
            language=checked_language,
            subject=parts.subject,
            text=parts.text,
            html=parts.html,
            created_at=now,
            updated_at=now,
        )
        if not self.store.insert_template(tenant_id, template):
            raise TemplateExists(
                f"a {checked_channel} template for {checked_kind} in {checked_language} exists"
                f" ({template.id}); change it with PATCH"
            )
        return template

    def update_template(
        self,
        context: CommandContext,
        template_id: UUID,
        changes: Mapping[str, str | None],
    ) -> TenantTemplate:
        """Change some parts of a template (``subject``, ``text``, ``html``; ``None`` clears
        an optional one), checked as a whole before it is saved."""
        tenant_id = _tenant(context)
        current = self.get_template(tenant_id, template_id)
        changed = msgspec.structs.replace(current, **dict(changes), updated_at=self.clock())
        self.engine.check(MessageKind(changed.kind), Channel(changed.channel), changed.parts)
        if not self.store.update_template(tenant_id, changed):
            raise TemplateNotFound(f"template {template_id} not found")
        return changed

    def delete_template(self, context: CommandContext, template_id: UUID) -> None:
        """Remove a template: its kind, channel and language use the built-in one again."""
        if not self.store.delete_template(_tenant(context), template_id):
            raise TemplateNotFound(f"template {template_id} not found")

    def preview_template(
        self, tenant_id: UUID, template_id: UUID, values: Mapping[str, object] | None = None
    ) -> TemplatePreview:
        """The template rendered with its language's sample values, overridden by ``values``."""
        template = self.get_template(tenant_id, template_id)
        return self.engine.preview(
            MessageKind(template.kind),
            Channel(template.channel),
            template.language,
            template.parts,
            values or {},
        )

    def template_for(
        self, tenant_id: UUID, kind: MessageKind, channel: Channel, language: str
    ) -> TemplateParts | None:
        """The tenant's template for a message, or ``None`` for the built-in one."""
        found = self.store.get_template(tenant_id, template_id(tenant_id, kind, channel, language))
        return found.parts if found is not None else None

    # -- settings ----------------------------------------------------------------------------

    def get_settings(self, tenant_id: UUID) -> TenantNotificationSettings:
        """The tenant's settings: what it saved, else every kind on and the default thresholds;
        every kind is listed, a kind added since the tenant saved being on."""
        saved = self.store.get_settings(tenant_id)
        kinds = {kind.value: True for kind in MessageKind}
        if saved is None:
            return TenantNotificationSettings(
                kinds=kinds,
                turn_near_position=self.default_near.position,
                turn_near_eta_minutes=_whole(self.default_near.eta_minutes),
            )
        return msgspec.structs.replace(saved, kinds={**kinds, **saved.kinds})

    def put_settings(
        self,
        context: CommandContext,
        kinds: Mapping[str, bool],
        turn_near_position: int | None,
        turn_near_eta_minutes: int | None,
        appointment_reminder_minutes: Sequence[int] | None = None,
    ) -> TenantNotificationSettings:
        """Replace the tenant's settings; a kind left out of ``kinds`` is on; reminders left
        out (``None``) go a day and an hour before the appointment."""
        tenant_id = _tenant(context)
        checked = {check_message_kind(name).value: bool(on) for name, on in kinds.items()}
        if turn_near_position is not None and not 1 <= turn_near_position <= MAX_NEAR_POSITION:
            raise InvalidInput(
                f"turn_near_position must be between 1 and {MAX_NEAR_POSITION} (1 is the next"
                " ticket), or null to switch it off"
            )
        if turn_near_eta_minutes is not None and not (
            0 <= turn_near_eta_minutes <= MAX_NEAR_ETA_MINUTES
        ):
            raise InvalidInput(
                f"turn_near_eta_minutes must be between 0 and {MAX_NEAR_ETA_MINUTES},"
                " or null to switch it off"
            )
        reminders = _reminder_minutes(appointment_reminder_minutes)
        saved = TenantNotificationSettings(
            kinds={kind.value: checked.get(kind.value, True) for kind in MessageKind},
            turn_near_position=turn_near_position,
            turn_near_eta_minutes=turn_near_eta_minutes,
            appointment_reminder_minutes=reminders,
            updated_at=self.clock(),
        )
        self.store.put_settings(tenant_id, saved)
        return saved


def _tenant(context: CommandContext) -> UUID:
    if context.tenant_id is None:
        raise InvalidInput("a tenant's notification set-up needs a tenant")
    return context.tenant_id


def _reminder_minutes(minutes: Sequence[int] | None) -> list[int]:
    """The reminders' offsets, longest first and once each, or :class:`InvalidInput`."""
    if minutes is None:
        return list(DEFAULT_REMINDER_MINUTES)
    offsets = sorted(set(minutes), reverse=True)
    if len(offsets) > MAX_REMINDERS or any(
        not 1 <= offset <= MAX_REMINDER_MINUTES for offset in offsets
    ):
        raise InvalidInput(
            f"appointment_reminder_minutes takes at most {MAX_REMINDERS} offsets, each between 1"
            f" and {MAX_REMINDER_MINUTES} minutes before the start ([] for no reminder)"
        )
    return offsets


def _whole(minutes: float | None) -> int | None:
    return None if minutes is None else round(minutes)
