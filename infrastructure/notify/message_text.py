"""A customer message's text: the values its template fills in (a ticket's, an appointment's),
and the template it is rendered with (the tenant's for its kind, channel and language, else the
built-in one)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog

from application.appointment_views import AppointmentView
from application.notifications import PlannedMessage
from application.views import QueueView, ServiceView, SiteView, TicketView
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


DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    # "aout" (the reformed spelling): "û" is not a GSM-7 character and would bill the SMS at
    # the UCS-2 rate.
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre",
        "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ),
}  # fmt: skip


def local_date(instant: datetime, timezone: str, language: str) -> str:
    """``instant``'s day on the site's clock, as the language writes it: ``lundi 7 décembre``,
    ``Monday 7 December``."""
    local = instant.astimezone(ZoneInfo(timezone))
    words = "en" if language == "en" else "fr"
    return f"{DAYS[words][local.weekday()]} {local.day} {MONTHS[words][local.month - 1]}"


def local_time(instant: datetime, timezone: str, language: str) -> str:
    """``instant``'s time on the site's clock: ``14:30`` in French, ``2:30 pm`` in English."""
    local = instant.astimezone(ZoneInfo(timezone))
    if language != "en":
        return f"{local.hour:02d}:{local.minute:02d}"
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"


def appointment_values(
    appointment: AppointmentView,
    service: ServiceView,
    site: SiteView,
    link: str | None,
    language: str,
) -> dict[str, object]:
    """The variables an appointment message's template fills in: its service and site, the
    local date and time of its start in the customer's language, its booking code, its link."""
    return {
        "service": service.name,
        "queue": service.name,
        "site": site.name,
        "date": local_date(appointment.start, site.timezone, language),
        "time": local_time(appointment.start, site.timezone, language),
        "code": appointment.code,
        "link": link,
    }
