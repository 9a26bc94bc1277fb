"""The tenant's notification set-up as a use case (an in-memory store, the real sandboxed
engine), and the notifier's "your turn is near" under a tenant's thresholds (fake facts)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from application.context import CommandContext
from application.notification_setup import NotificationSetup, TemplateExists, TemplateNotFound
from application.notification_templates import TenantNotificationSettings, TenantTemplate
from application.views import TicketView
from domain.errors import InvalidInput
from domain.messages import (
    Channel,
    MessageKind,
    TemplateParts,
    TemplateSyntaxInvalid,
    UnknownTemplateVariable,
)
from domain.notify_rules import NearThresholds
from infrastructure.notify.notifier import Notifier
from infrastructure.notify.templates import SandboxedTemplates
from infrastructure.settings import load_settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class MemoryStore:
    """The ``TemplateStore`` port in memory, per tenant."""

    def __init__(self) -> None:
        self.templates: dict[tuple[uuid.UUID, uuid.UUID], TenantTemplate] = {}
        self.settings: dict[uuid.UUID, TenantNotificationSettings] = {}

    def list_templates(self, tenant_id):
        return [t for (tenant, _), t in self.templates.items() if tenant == tenant_id]

    def get_template(self, tenant_id, template_id):
        return self.templates.get((tenant_id, template_id))

    def insert_template(self, tenant_id, template):
        if (tenant_id, template.id) in self.templates:
            return False
        self.templates[(tenant_id, template.id)] = template
        return True

    def update_template(self, tenant_id, template):
        if (tenant_id, template.id) not in self.templates:
            return False
        self.templates[(tenant_id, template.id)] = template
        return True

    def delete_template(self, tenant_id, template_id):
        return self.templates.pop((tenant_id, template_id), None) is not None

    def get_settings(self, tenant_id):
        return self.settings.get(tenant_id)

    def put_settings(self, tenant_id, settings):
        self.settings[tenant_id] = settings


@pytest.fixture
def setup() -> NotificationSetup:
    return NotificationSetup(
        MemoryStore(),
        SandboxedTemplates(),
        NearThresholds(position=3, eta_minutes=None),
        lambda: NOW,
    )


def context() -> CommandContext:
    return CommandContext.system(uuid.uuid4())


def test_one_template_per_kind_channel_and_language_and_the_built_in_when_none(
    setup: NotificationSetup,
) -> None:
    ctx = context()
    made = setup.create_template(ctx, "called", "sms", "EN-gb", TemplateParts(text="{number}"))

    assert made.language == "en"
    assert setup.template_for(ctx.tenant_id, MessageKind.CALLED, Channel.SMS, "en") == made.parts
    assert setup.template_for(ctx.tenant_id, MessageKind.CALLED, Channel.SMS, "fr") is None
    assert setup.template_for(uuid.uuid4(), MessageKind.CALLED, Channel.SMS, "en") is None
    with pytest.raises(TemplateExists):
        setup.create_template(ctx, "called", "sms", "en", TemplateParts(text="{counter}"))
    setup.delete_template(ctx, made.id)
    assert setup.template_for(ctx.tenant_id, MessageKind.CALLED, Channel.SMS, "en") is None
    with pytest.raises(TemplateNotFound):
        setup.delete_template(ctx, made.id)


def test_a_change_is_checked_whole_and_a_refused_one_changes_nothing(
    setup: NotificationSetup,
) -> None:
    ctx = context()
    made = setup.create_template(
        ctx, "called", "email", "fr", TemplateParts(subject="{number}", text="Guichet {counter}")
    )

    with pytest.raises(UnknownTemplateVariable, match=r"\{position\}"):
        setup.update_template(ctx, made.id, {"text": "{position}"})
    with pytest.raises(TemplateSyntaxInvalid, match="line 2"):
        setup.update_template(ctx, made.id, {"html": "<p>\n{% if %}</p>"})
    with pytest.raises(InvalidInput, match="subject"):
        setup.update_template(ctx, made.id, {"subject": None})
    assert setup.get_template(ctx.tenant_id, made.id) == made
    changed = setup.update_template(ctx, made.id, {"html": "<p>{counter}</p>"})
    assert changed.html == "<p>{counter}</p>"
    assert changed.text == "Guichet {counter}"


def test_settings_list_every_kind_and_refuse_unknown_kinds_and_bad_thresholds(
    setup: NotificationSetup,
) -> None:
    ctx = context()
    assert setup.get_settings(ctx.tenant_id).near == NearThresholds(3, None)

    saved = setup.put_settings(ctx, {"called": False}, None, 4)

    assert saved.kinds == {kind.value: kind is not MessageKind.CALLED for kind in MessageKind}
    assert not saved.is_on(MessageKind.CALLED)
    assert saved.near == NearThresholds(None, 4)
    assert setup.get_settings(ctx.tenant_id) == saved
    for kinds, position, eta in (({"fax": True}, 3, None), ({}, 0, None), ({}, 3, -1)):
        with pytest.raises(InvalidInput):
            setup.put_settings(ctx, kinds, position, eta)
    assert setup.get_settings(ctx.tenant_id) == saved


def ticket(position: int, transfers: int = 0) -> TicketView:
    return TicketView(
        id=uuid.uuid4(),
        number=f"A-{position:03}",
        status="waiting",
        queue_id=uuid.uuid4(),
        service_id=uuid.uuid4(),
        position=position,
        eta_seconds=None,
        priority=0,
        channel="kiosk",
        customer_id=uuid.uuid4(),
        agent_id=None,
        counter=None,
        issued_at=NOW,
        called_at=None,
        service_started_at=None,
        finished_at=None,
        recalls=0,
        transfers=transfers,
    )


class Line:
    """A queue's waiting line; each ticket waits four minutes more than the one before it."""

    def __init__(self, length: int) -> None:
        self.tickets = [ticket(position) for position in range(1, length + 1)]
        self.asked: list[int] = []

    def get_next_waiting(self, tenant_id: Any, queue_id: Any, count: int) -> list[TicketView]:
        self.asked.append(count)
        return self.tickets[:count]

    def with_eta(self, tenant_id: Any, view: TicketView) -> TicketView:
        return TicketView(**{**_fields(view), "eta_seconds": view.position * 240})


def _fields(view: TicketView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__struct_fields__}


class Told(Notifier):
    """A notifier that notes whom it would tell instead of telling them."""

    told: list[str]

    def _tell(self, tenant_id, tenant, kind, event_id, view, counter=None):  # type: ignore[override]
        self.told.append(view.number)
        return []


@pytest.mark.parametrize(
    ("kinds", "position", "eta_minutes", "told"),
    [
        ({}, 2, None, ["A-001", "A-002"]),
        ({}, None, 12, ["A-001", "A-002", "A-003"]),  # 4, 8 and 12 minutes
        ({}, 1, 8, ["A-001", "A-002"]),
        ({}, None, None, []),
        ({"turn_near": False}, 3, 30, []),
    ],
)
def test_turn_near_follows_the_tenants_position_and_eta_thresholds(
    kinds: dict[str, bool], position: int | None, eta_minutes: int | None, told: list[str]
) -> None:
    settings = load_settings({})
    line = Line(30)
    notifier = Told(
        line,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        settings.kafka,
        settings.notify,
        with_eta=line.with_eta,
    )
    notifier.told = []
    tenant = TenantNotificationSettings(
        kinds=kinds, turn_near_position=position, turn_near_eta_minutes=eta_minutes
    )

    notifier._turn_near(uuid.uuid4(), tenant, uuid.uuid4())

    assert notifier.told == told
