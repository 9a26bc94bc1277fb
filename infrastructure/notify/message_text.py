"""A customer message's text: the values its template fills in, and the template it is
rendered with (the tenant's for its kind, channel and language, else the built-in one)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

import structlog

from application.notifications import PlannedMessage
from application.views import QueueView, SiteView, TicketView
from domain.messages import Channel, MessageKind, TemplateParts
from infrastructure.notify.templates import RenderedMessage, render_message

log = structlog.get_logger(__name__)


class TenantTemplates(Protocol):
    """A tenant's own template for a kind, channel and language, if it has one."""

    def template_for(
        self, tenant_id: UUID, kind: MessageKind, channel: Channel, language: str
    ) -> TemplateParts | None: ...


def render_for_tenant(
    setup: TenantTemplates | None,
    tenant_id: UUID,
    planned: PlannedMessage,
    values: dict[str, object],
) -> RenderedMessage:
    """The message in the tenant's template for its kind, channel and language, else in
    the built-in one; a stored template that fails to render falls back to the built-in
    one (logged), so the customer still hears."""
    parts = None
    if setup is not None:
        parts = setup.template_for(tenant_id, planned.kind, planned.channel, planned.language)
    if parts is not None:
        try:
            return render_message(planned.kind, planned.channel, planned.language, values, parts)
        except Exception as error:  # a template saved under older rules, say
            log.warning(
                "tenant template failed; built-in used",
                tenant_id=str(tenant_id),
                kind=planned.kind.value,
                channel=planned.channel.value,
                language=planned.language,
                error=str(error),
            )
    return render_message(planned.kind, planned.channel, planned.language, values)


def message_values(
    ticket: TicketView,
    queue: QueueView,
    site: SiteView,
    link: str | None,
    counter: object = None,
) -> dict[str, object]:
    """The variables a message template fills in, for a ticket in its queue and site."""
    eta = ticket.eta_seconds
    return {
        "number": ticket.number,
        "position": ticket.position,
        "eta_minutes": max(1, round(eta / 60)) if eta is not None else None,
        "counter": counter or ticket.counter,
        "queue": queue.name,
        "site": site.name,
        "link": link,
    }
