"""What the notifier reads again and again, kept for a short while
(``SMARTQUEUE_NOTIFY_FACTS_TTL_SECONDS``): queues, sites, customers, the tenants' notification
settings and templates.

Every ticket event asks for its queue's and site's names, the tenant's settings and templates
and, for each customer it tells something, the customer: loaded through the write model each
time, that was most of the notifier's work. They rarely change, and what changes them passes
the notifier too (its group reads every topic): a queue's or a site's own events, a customer's
events drop their entry at once; the time limit bounds the rest (another notifier of the group
read the event, a setting saved outside the event log).

An erasure always wins over a customer kept here: the ledger's insert checks, in the same
statement, that the customer still has a profile
(:meth:`infrastructure.notify.ledger.PostgresLedger.record_new`), so no message is recorded
for them once their erasure has committed; the ``Customer.Erased`` event then erases what was
recorded before it. A ticket's own state and who is next are never cached: they change with
every event.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from uuid import UUID

from application.notification_templates import TenantNotificationSettings
from application.views import CustomerView, QueueView, SiteView
from domain.messages import Channel, MessageKind, TemplateParts

T = TypeVar("T")

KEPT_QUEUE_EVENTS = frozenset(
    {"Queue.TicketJoined", "Queue.TicketLeft", "Queue.TicketMovedBack", "Queue.Renumbered"}
)
"""A queue's events that leave its name and site as they were (most of its events)."""


class Expiring:
    """A map whose entries are forgotten ``seconds`` after they were put."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.entries: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value kept under ``key``, else what ``load`` returns (kept; an error is not)."""
        now = self.clock()
        found = self.entries.get(key)
        if found is not None and found[0] > now:
            return found[1]  # type: ignore[no-any-return]
        value = load()
        if len(self.entries) > 10_000:  # a long-running process meets many tenants
            self.entries = {k: v for k, v in self.entries.items() if v[0] > now}
        self.entries[key] = (now + self.seconds, value)
        return value

    def drop(self, key: Hashable) -> None:
        self.entries.pop(key, None)

    def clear(self) -> None:
        self.entries.clear()


class FactCache:
    """The notifier's reads of queues, sites, customers, settings and templates, kept as the
    module docstring says; ``facts`` and ``setup`` answer what is not kept."""

    def __init__(
        self,
        facts: Any,
        setup: Any | None,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.facts = facts
        self.setup = setup
        self.kept = Expiring(seconds, clock)

    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueView:
        key = ("queue", tenant_id, queue_id)
        return self.kept.get(key, lambda: self.facts.get_queue(tenant_id, queue_id))

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView:
        key = ("site", tenant_id, site_id)
        return self.kept.get(key, lambda: self.facts.get_site(tenant_id, site_id))

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> CustomerView:
        key = ("customer", tenant_id, customer_id)
        return self.kept.get(key, lambda: self.facts.get_customer(tenant_id, customer_id))

    def get_settings(self, tenant_id: UUID) -> TenantNotificationSettings:
        return self.kept.get(("settings", tenant_id), lambda: self.setup.get_settings(tenant_id))

    def template_for(
        self, tenant_id: UUID, kind: MessageKind, channel: Channel, language: str
    ) -> TemplateParts | None:
        if self.setup is None:
            return None
        key = ("template", tenant_id, kind, channel, language)
        return self.kept.get(
            key, lambda: self.setup.template_for(tenant_id, kind, channel, language)
        )

    def observe(self, event_type: str, tenant_id: UUID, aggregate_id: UUID) -> None:
        """Drop what the event may have changed: a customer's (any of their events, an erasure
        first of all), a queue's (but for its line's events), a site's."""
        family = event_type.split(".", 1)[0]
        if family == "Customer":
            self.kept.drop(("customer", tenant_id, aggregate_id))
        elif family == "Queue" and event_type not in KEPT_QUEUE_EVENTS:
            self.kept.drop(("queue", tenant_id, aggregate_id))
        elif family == "Site":
            self.kept.drop(("site", tenant_id, aggregate_id))
