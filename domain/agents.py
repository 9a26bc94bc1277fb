"""The Agent aggregate: a staff member serving tickets at a counter."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import AgentBusy, AgentError, AgentUnavailable, InvalidInput


class AgentStatus(StrEnum):
    """What an agent is doing; only ``available`` and ``busy`` agents may call tickets."""

    AVAILABLE = "available"
    BUSY = "busy"
    PAUSED = "paused"
    OFFLINE = "offline"

    @classmethod
    def parse(cls, value: str) -> AgentStatus:
        """Return the status named ``value`` or raise :class:`InvalidInput`."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise InvalidInput(f"unknown agent status {value!r}; expected one of {names}") from None


class Agent(Aggregate):
    """An agent's status, counter, assigned queues and the ticket they currently hold.

    Its id derives from its staff user's id, so a token's subject finds it without a lookup.
    """

    @staticmethod
    def create_id(user_id: UUID) -> UUID:  # type: ignore[override]
        """The agent id of a staff user."""
        return uuid5(NAMESPACE_URL, f"smartqueue:agent:{user_id}")

    @event("Registered")
    def __init__(self, user_id: UUID, tenant_id: UUID, name: str) -> None:
        self.user_id = user_id
        self.tenant_id = tenant_id
        self.name = name
        self.status = AgentStatus.OFFLINE
        self.counter: str | None = None
        self.queue_ids: list[UUID] = []
        self.current_ticket_id: UUID | None = None

    def rename(self, name: str) -> None:
        """Follow the staff user's new name, shown on displays and the agent board."""
        if name != self.name:
            self._renamed(name=name)

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def set_status(self, status: str, at: datetime | None = None) -> None:
        """Change availability; going offline while holding a ticket is refused.

        ``at`` (the application's clock) becomes the event's timestamp: the KPIs' time on duty
        runs from one status change to the next, on the same clock as the tickets' times."""
        new_status = AgentStatus.parse(status)
        if new_status == AgentStatus.OFFLINE and self.current_ticket_id is not None:
            raise AgentBusy("finish or transfer the current ticket before going offline")
        if new_status != self.status:
            self.trigger_event(self.StatusChanged, status=new_status.value, timestamp=at)

    @event("StatusChanged")
    def _status_changed(self, status: str) -> None:
        self.status = AgentStatus(status)

    def assign_counter(self, counter: str | None) -> None:
        """Sit the agent at a counter (a desk or window label shown on displays)."""
        if counter is not None and not counter.strip():
            raise InvalidInput("a counter label cannot be blank")
        if counter != self.counter:
            self._counter_assigned(counter=counter)

    @event("CounterAssigned")
    def _counter_assigned(self, counter: str | None) -> None:
        self.counter = counter

    def assign_queues(self, queue_ids: list[UUID]) -> None:
        """Replace the queues this agent calls from when no queue is named."""
        if len(set(queue_ids)) != len(queue_ids):
            raise InvalidInput("queue_ids lists a queue twice")
        self._queues_assigned(queue_ids=list(queue_ids))

    @event("QueuesAssigned")
    def _queues_assigned(self, queue_ids: list[UUID]) -> None:
        self.queue_ids = list(queue_ids)

    def check_can_call(self) -> None:
        """Raise unless the agent is on duty and holds no ticket."""
        if self.status in (AgentStatus.PAUSED, AgentStatus.OFFLINE):
            raise AgentUnavailable(f"agent is {self.status}; set status to available first")
        if self.current_ticket_id is not None:
            raise AgentBusy("finish, transfer or mark no-show the current ticket first")

    def take_ticket(self, ticket_id: UUID) -> None:
        """The agent now holds this ticket (called it)."""
        self.check_can_call()
        self._ticket_taken(ticket_id=ticket_id)

    @event("TicketTaken")
    def _ticket_taken(self, ticket_id: UUID) -> None:
        self.current_ticket_id = ticket_id
        self.status = AgentStatus.BUSY

    def release_ticket(self, ticket_id: UUID) -> None:
        """The agent is done with this ticket (completed, no-show, transferred, cancelled)."""
        if self.current_ticket_id != ticket_id:
            raise AgentError("the agent does not hold this ticket")
        self._ticket_released(ticket_id=ticket_id)

    @event("TicketReleased")
    def _ticket_released(self, ticket_id: UUID) -> None:
        self.current_ticket_id = None
        if self.status == AgentStatus.BUSY:
            self.status = AgentStatus.AVAILABLE
