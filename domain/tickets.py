"""The Ticket aggregate: one customer's visit, from issue to completion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import CallSuperseded, IllegalTransition, MoreTimeUsed


class TicketStatus(StrEnum):
    """Where a ticket is in its life. After a transfer it is ``waiting`` in the target queue."""

    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PAUSED = "paused"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


S = TicketStatus

# The one place that says what is legal: (current status, action) -> next status.
TRANSITIONS: dict[tuple[TicketStatus, str], TicketStatus] = {
    (S.WAITING, "call"): S.CALLED,
    (S.WAITING, "cancel"): S.CANCELLED,
    (S.WAITING, "transfer"): S.WAITING,
    (S.CALLED, "recall"): S.CALLED,
    (S.CALLED, "start"): S.SERVING,
    (S.CALLED, "mark_no_show"): S.NO_SHOW,
    (S.CALLED, "transfer"): S.WAITING,
    (S.CALLED, "cancel"): S.CANCELLED,
    (S.SERVING, "pause"): S.PAUSED,
    (S.SERVING, "close"): S.COMPLETED,
    (S.SERVING, "transfer"): S.WAITING,
    (S.PAUSED, "resume"): S.SERVING,
    (S.PAUSED, "close"): S.COMPLETED,
    (S.PAUSED, "transfer"): S.WAITING,
}
ACTIONS = frozenset(action for _, action in TRANSITIONS)
TERMINAL = frozenset({S.COMPLETED, S.NO_SHOW, S.CANCELLED})
HELD_BY_AGENT = frozenset({S.CALLED, S.SERVING, S.PAUSED})


class Ticket(Aggregate):
    """A customer's place in a queue and the record of how they were served."""

    class Issued(Aggregate.Created):
        """A ticket was taken; ``hours_override`` when staff issued it while the site was
        closed; ``appointment_id`` when an appointment's check-in issued it."""

        class_version = 3
        tenant_id: UUID
        queue_id: UUID
        service_id: UUID
        number: str
        priority: int
        channel: str
        customer_id: UUID | None
        issued_at: datetime
        hours_override: bool
        appointment_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Tickets issued before opening hours were enforced were never overrides."""
            state["hours_override"] = False

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Tickets issued before check-ins recorded their appointment carry none."""
            state["appointment_id"] = None

    @event(Issued)
    def __init__(
        self,
        tenant_id: UUID,
        queue_id: UUID,
        service_id: UUID,
        number: str,
        priority: int,
        channel: str,
        customer_id: UUID | None,
        issued_at: datetime,
        hours_override: bool = False,
        appointment_id: UUID | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.queue_id = queue_id
        self.service_id = service_id
        self.number = number
        self.priority = priority
        self.channel = channel
        self.customer_id = customer_id
        self.issued_at = issued_at
        self.hours_override = hours_override
        self.appointment_id = appointment_id
        self.status = TicketStatus.WAITING
        self.agent_id: UUID | None = None
        self.counter: str | None = None
        self.first_called_at: datetime | None = None
        self.called_at: datetime | None = None
        self.service_started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.recalls = 0
        self.transfers = 0
        self.more_time_used = False

    def check_can(self, action: str) -> TicketStatus:
        """Return the status ``action`` leads to, or raise :class:`IllegalTransition`."""
        try:
            return TRANSITIONS[(TicketStatus(self.status), action)]
        except KeyError:
            raise IllegalTransition(action.replace("_", " "), self.status) from None

    @property
    def is_held_by_agent(self) -> bool:
        """True while an agent is responsible for the ticket (called, serving or paused)."""
        return self.status in HELD_BY_AGENT

    def call(self, agent_id: UUID, counter: str | None, at: datetime) -> None:
        """An agent calls this waiting ticket to a counter."""
        self.check_can("call")
        self._called(agent_id=agent_id, counter=counter, at=at)

    @event("Called")
    def _called(self, agent_id: UUID, counter: str | None, at: datetime) -> None:
        self.status = TicketStatus.CALLED
        self.agent_id = agent_id
        self.counter = counter
        self.called_at = at
        if self.first_called_at is None:
            self.first_called_at = at

    def recall(self, at: datetime) -> None:
        """Announce the called ticket again (the customer has not come to the counter yet)."""
        self.check_can("recall")
        self._recalled(at=at)

    @event("Recalled")
    def _recalled(self, at: datetime) -> None:
        self.recalls += 1
        self.called_at = at

    def start(self, at: datetime) -> None:
        """The customer reached the counter; service begins."""
        self.check_can("start")
        self._service_started(at=at)

    @event("ServiceStarted")
    def _service_started(self, at: datetime) -> None:
        self.status = TicketStatus.SERVING
        self.service_started_at = at

    def pause(self, at: datetime) -> None:
        """Service is interrupted (the customer fetches a document, ...)."""
        self.check_can("pause")
        self._paused(at=at)

    @event("Paused")
    def _paused(self, at: datetime) -> None:
        self.status = TicketStatus.PAUSED

    def resume(self, at: datetime) -> None:
        """Service continues after a pause."""
        self.check_can("resume")
        self._resumed(at=at)

    @event("Resumed")
    def _resumed(self, at: datetime) -> None:
        self.status = TicketStatus.SERVING

    def close(self, at: datetime) -> None:
        """Service is complete."""
        self.check_can("close")
        self._completed(at=at)

    @event("Completed")
    def _completed(self, at: datetime) -> None:
        self.status = TicketStatus.COMPLETED
        self.finished_at = at

    def mark_no_show(self, at: datetime) -> None:
        """The called customer never came."""
        self.check_can("mark_no_show")
        self._marked_no_show(at=at)

    def expire_call(self, called_at: datetime, at: datetime) -> None:
        """The system marks the ticket no-show: nobody started it after its call of ``called_at``.

        Refused (:class:`IllegalTransition`) once the ticket is started, finished or waiting
        again, and (:class:`CallSuperseded`) after a recall, which starts a new delay."""
        self.check_can("mark_no_show")
        if self.called_at != called_at:
            raise CallSuperseded(f"the call of {called_at.isoformat()} was followed by another")
        self._marked_no_show(at=at)

    @event("MarkedNoShow")
    def _marked_no_show(self, at: datetime) -> None:
        self.status = TicketStatus.NO_SHOW
        self.finished_at = at

    def cancel(self, at: datetime, reason: str = "") -> None:
        """The ticket is withdrawn before service (customer left, staff removed it)."""
        self.check_can("cancel")
        self._cancelled(at=at, reason=reason)

    @event("Cancelled")
    def _cancelled(self, at: datetime, reason: str) -> None:
        self.status = TicketStatus.CANCELLED
        self.finished_at = at

    def take_more_time(self, places: int, at: datetime) -> None:
        """The waiting customer asks to be moved ``places`` places back; once per ticket (the
        queue moves the entry: see ``Queue.move_back``)."""
        if self.status != TicketStatus.WAITING:
            raise IllegalTransition("give more time to", self.status)
        if self.more_time_used:
            raise MoreTimeUsed("this ticket has already been given more time once")
        self._more_time_taken(places=places, at=at)

    @event("MoreTimeTaken")
    def _more_time_taken(self, places: int, at: datetime) -> None:
        self.more_time_used = True

    def transfer(
        self, to_queue_id: UUID, to_service_id: UUID, placement: str, at: datetime
    ) -> None:
        """Send the ticket to wait in another queue (or the same one again)."""
        self.check_can("transfer")
        self._transferred(
            from_queue_id=self.queue_id,
            to_queue_id=to_queue_id,
            to_service_id=to_service_id,
            placement=placement,
            at=at,
        )

    @event("Transferred")
    def _transferred(
        self,
        from_queue_id: UUID,
        to_queue_id: UUID,
        to_service_id: UUID,
        placement: str,
        at: datetime,
    ) -> None:
        self.status = TicketStatus.WAITING
        self.queue_id = to_queue_id
        self.service_id = to_service_id
        self.agent_id = None
        self.counter = None
        self.called_at = None
        self.service_started_at = None
        self.transfers += 1
