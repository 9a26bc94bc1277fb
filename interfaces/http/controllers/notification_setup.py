"""The tenant's notification set-up: its message templates (checked on save, previewed with
sample values) and its notification settings (which kinds are sent, "your turn is near")."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from application.identity import Principal
from application.notification_setup import NotificationSetup
from application.notification_templates import (
    TemplatePreview,
    TenantNotificationSettings,
    TenantTemplate,
)
from application.paging import DEFAULT_PAGE_SIZE
from domain.messages import TemplateParts
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import Body
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404, 422)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)
SCOPE = "notifications:manage"

# Generous framework bounds: the domain's own limits (2,000 characters of text...) answer 422
# naming the part.
Source = Annotated[str, msgspec.Meta(max_length=40_000)]
Word = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
SampleValue = Annotated[str, msgspec.Meta(max_length=2_000)] | int


def _filter(name: str, description: str) -> Any:
    return Annotated[str | None, QueryParameter(name=name, max_length=40, description=description)]


KindQuery = _filter("kind", "Only this message kind (ticket_issued, turn_near, called, ...)")
ChannelQuery = _filter("channel", "Only this channel (email, sms, whatsapp, push)")
LanguageQuery = _filter("language", "Only this language (fr, en)")


class TemplateCreate(Body):
    """A template for one message kind, channel and language. ``{number}``-style variables;
    ``subject`` for email and push, ``html`` for email only (made from the text when absent)."""

    kind: Word
    channel: Word
    language: Word
    text: Source
    subject: Source | None = None
    html: Source | None = None


class TemplatePatch(Body):
    """Only the parts named change; ``null`` clears ``subject`` or ``html``."""

    text: Source | msgspec.UnsetType = msgspec.UNSET
    subject: Source | msgspec.UnsetType | None = msgspec.UNSET
    html: Source | msgspec.UnsetType | None = msgspec.UNSET


class PreviewValues(Body):
    """Values that replace the language's sample values in a preview."""

    values: dict[Word, SampleValue] = msgspec.field(default_factory=dict)


ReminderOffsets = Annotated[list[int], msgspec.Meta(max_length=100)]


class SettingsPut(Body):
    """The whole settings: kinds left out of ``kinds`` are on; a ``null`` threshold is off."""

    turn_near_position: int | None
    turn_near_eta_minutes: int | None
    kinds: dict[Word, bool] = msgspec.field(default_factory=dict)
    appointment_reminder_minutes: ReminderOffsets | None = None
    """Minutes before an appointment's start when its reminders go (``[]``: none); left out or
    ``null``: a day and an hour before (``[1440, 60]``)."""


class NotificationTemplateController(Controller):
    """The tenant's own templates; one that is absent (or deleted) is the built-in one."""

    path = f"{TENANT_PATH}/notification-templates"
    tags = ["notifications"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listNotificationTemplates",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped(SCOPE),
    )
    def list_templates(
        self,
        notification_setup: UseCase[NotificationSetup],
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        kind: KindQuery = None,
        channel: ChannelQuery = None,
        language: LanguageQuery = None,
    ) -> Paginated[TenantTemplate]:
        """The tenant's templates by kind, channel and language."""
        page = notification_setup.list_templates(
            member.tenant_id, page_request(cursor, limit), kind, channel, language
        )
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createNotificationTemplate",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped(SCOPE),
    )
    def create_template(
        self,
        notification_setup: UseCase[NotificationSetup],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[TemplateCreate],
    ) -> TenantTemplate:
        """Use this template instead of the built-in one; checked first (422 names an unknown
        variable, a syntax error's line, a construct templates may not use). 409 when the
        tenant has one for this kind, channel and language already."""
        return notification_setup.create_template(
            command_context(request, member),
            data.kind,
            data.channel,
            data.language,
            TemplateParts(text=data.text, subject=data.subject, html=data.html),
        )

    @get(
        "/{template_id:uuid}",
        operation_id="getNotificationTemplate",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped(SCOPE),
    )
    def get_template(
        self,
        notification_setup: UseCase[NotificationSetup],
        member: NamedDependency[Principal],
        template_id: FromPath[UUID],
    ) -> TenantTemplate:
        """One of the tenant's templates."""
        return notification_setup.get_template(member.tenant_id, template_id)

    @patch(
        "/{template_id:uuid}",
        operation_id="updateNotificationTemplate",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped(SCOPE),
    )
    def update_template(
        self,
        notification_setup: UseCase[NotificationSetup],
        request: Request,
        member: NamedDependency[Principal],
        template_id: FromPath[UUID],
        data: JSONBody[TemplatePatch],
    ) -> TenantTemplate:
        """Change the parts sent; the result is checked as on creation."""
        changes = {
            name: getattr(data, name)
            for name in ("text", "subject", "html")
            if getattr(data, name) is not msgspec.UNSET
        }
        return notification_setup.update_template(
            command_context(request, member), template_id, changes
        )

    @delete(
        "/{template_id:uuid}",
        operation_id="deleteNotificationTemplate",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped(SCOPE),
    )
    def delete_template(
        self,
        notification_setup: UseCase[NotificationSetup],
        request: Request,
        member: NamedDependency[Principal],
        template_id: FromPath[UUID],
    ) -> None:
        """Remove the template: its messages use the built-in one again."""
        notification_setup.delete_template(command_context(request, member), template_id)

    @post(
        "/{template_id:uuid}/preview",
        operation_id="previewNotificationTemplate",
        status_code=200,
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped(SCOPE),
    )
    def preview_template(
        self,
        notification_setup: UseCase[NotificationSetup],
        member: NamedDependency[Principal],
        template_id: FromPath[UUID],
        data: JSONBody[PreviewValues | None] = None,
    ) -> TemplatePreview:
        """The template rendered with sample values (``values`` replace some); SMS templates
        also show the encoding (GSM-7 or UCS-2), characters and segments."""
        values = data.values if data is not None else {}
        return notification_setup.preview_template(member.tenant_id, template_id, values)


class NotificationSettingsController(Controller):
    """Which message kinds the tenant sends and when "your turn is near" goes out."""

    path = f"{TENANT_PATH}/notification-settings"
    tags = ["notifications"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="getNotificationSettings",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped(SCOPE),
    )
    def get_settings(
        self,
        notification_setup: UseCase[NotificationSetup],
        member: NamedDependency[Principal],
    ) -> TenantNotificationSettings:
        """The tenant's settings; every kind is on and the process's thresholds apply until
        the tenant saves its own."""
        return notification_setup.get_settings(member.tenant_id)

    @put(
        "/",
        operation_id="putNotificationSettings",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped(SCOPE),
    )
    def put_settings(
        self,
        notification_setup: UseCase[NotificationSetup],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[SettingsPut],
    ) -> TenantNotificationSettings:
        """Replace the settings (a kind left out is on; an unknown kind is 422)."""
        return notification_setup.put_settings(
            command_context(request, member),
            data.kinds,
            data.turn_near_position,
            data.turn_near_eta_minutes,
            data.appointment_reminder_minutes,
        )
