"""Random but legal histories of a branch, driven through the real application, for properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from hypothesis import strategies as st

from domain.errors import Conflict
from domain.tickets import TRANSITIONS, TicketStatus
from tests.unit.world import World, make_world

# The ticket's action name in TRANSITIONS -> the application command that performs it.
TICKET_COMMANDS = {
    "start": "start_ticket",
    "pause": "pause_ticket",
    "resume": "resume_ticket",
    "close": "close_ticket",
    "mark_no_show": "mark_no_show",
    "cancel": "cancel_ticket",
    "recall": "recall_ticket",
    "transfer": "transfer_ticket",
}
# Weighted towards the common path (issue, call, start, close) so histories get somewhere.
KINDS = [*["issue", "call", "start", "close"] * 3, *TICKET_COMMANDS]

# (what to do, which queue, agent or ticket it picks, minutes the clock moves on first)
steps = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 10**6),
        st.integers(0, 12) | st.sampled_from([60, 600]),  # now and then past local midnight
    ),
    min_size=10,
    max_size=80,
)


@dataclass
class RandomDay:
    """Two queues with different targets, three agents; legal commands only take effect."""

    world: World = field(default_factory=lambda: make_world(timezone="Europe/Paris"))
    queues: list[UUID] = field(default_factory=list)
    agents: list[UUID] = field(default_factory=list)
    tickets: list[UUID] = field(default_factory=list)
    statuses: dict[UUID, TicketStatus] = field(default_factory=dict)  # as the commands answered

    def __post_init__(self) -> None:
        self.queues = [
            self.world.queue(self.world.service(code, minutes))
            for code, minutes in (("A", 10), ("B", 3))
        ]
        self.agents = [self.world.agent(str(n)) for n in range(3)]
        for agent_id in self.agents:  # each calls the most urgent ticket of both queues
            self.world.staffing.assign_agent_queues(self.world.context, agent_id, self.queues)

    def run(self, script: list[tuple[str, int, int]]) -> None:
        context = self.world.context
        for kind, pick, minutes in script:
            self.world.clock.now += timedelta(minutes=minutes)
            queue_id = self.queues[pick % len(self.queues)]
            try:
                view = None
                if kind == "issue":
                    view = self.world.tickets.issue_ticket(context, queue_id)
                    self.tickets.append(view.id)
                elif kind == "call":
                    if free := self.free_agents():
                        view = self.world.staffing.call_next(context, free[pick % len(free)])
                elif ready := self.tickets_that_can(kind):
                    args = [self.queues[pick // 7 % 2]] if kind == "transfer" else []
                    command = getattr(self.world.tickets, TICKET_COMMANDS[kind])
                    view = command(context, ready[pick % len(ready)], *args)
                if view is not None:
                    self.statuses[view.id] = TicketStatus(view.status)
            except Conflict:
                pass  # a busy agent, a closed line...: the history simply lacks this step

    def free_agents(self) -> list[UUID]:
        """The agents holding no ticket, who may call the next one."""
        tenant_id = self.world.tenant_id
        return [
            a
            for a in self.agents
            if self.world.staffing.get_agent(tenant_id, a).current_ticket_id is None
        ]

    def tickets_that_can(self, action: str) -> list[UUID]:
        """The tickets for which ``action`` is legal now (so most steps do something)."""
        return [
            ticket_id
            for ticket_id in self.tickets
            if (self.statuses[ticket_id], action) in TRANSITIONS
        ]
