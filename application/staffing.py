"""Agents as managers see them: the board of agents and the counters they are seated at."""

from __future__ import annotations

from uuid import UUID

from application.base import retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest
from application.queueing import DirectoryReads, agent_view
from application.views import AgentView
from domain.agents import Agent
from domain.errors import AgentNotFound


class StaffingCommands(DirectoryReads):
    """Every staff user has an agent profile; managers seat agents and watch them."""

    @retry_on_conflict
    def assign_agent_counter(
        self, context: CommandContext, agent_id: UUID, counter: str | None
    ) -> AgentView:
        """Seat an agent at a counter, or at none (``None``). A ticket already called keeps the
        counter it was announced at; the next one is called to the new counter."""
        agent = self.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        agent.assign_counter(None if counter is None else counter.strip())
        self.save_in_context(context, agent)
        return agent_view(agent)

    def list_agents(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[AgentView]:
        """A page of the tenant's agents (one per staff user), oldest first."""
        return self.directory.agents(tenant_id, page or PageRequest())
