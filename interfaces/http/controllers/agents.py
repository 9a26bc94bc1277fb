"""Agents: call the next ticket, change status, see the board; managers seat agents."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from application.agent_board import AgentBoard, BoardEntry, BoardFilter
from application.consistency import Consistency
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.staffing import Staffing
from application.views import AgentView, TicketView
from domain.agents import AgentStatus
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.idempotency import idempotent
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import AgentCounter, AgentQueues, AgentStatusChange, CallNext
from interfaces.http.security import command_context, scoped

SiteFilter = Annotated[
    UUID | None,
    QueryParameter(name="site_id", description="Only agents serving this site's queues"),
]
QueueFilter = Annotated[
    UUID | None,
    QueryParameter(
        name="queue_id", description="Only agents assigned to this queue or holding its ticket"
    ),
]
StatusFilter = Annotated[
    str | None,
    QueryParameter(
        name="status",
        max_length=20,
        # Documented, not enforced by the framework: BoardFilter answers an unknown one 422.
        enum=[status.value for status in AgentStatus],
        description="Only agents in this status: `available`, `busy`, `paused` or `offline`",
    ),
]


class AgentController(Controller):
    """The calling agent is the token's user: nobody calls on another's behalf."""

    path = f"{TENANT_PATH}/agents"
    tags = ["agents"]
    dependencies = TENANT_SCOPED

    @post(
        "/call-next",
        operation_id="callNext",
        status_code=200,
        sync_to_thread=True,
        responses={
            **problems(400, 401, 403, 404, 409, 422, 503),
            204: ResponseSpec(None, description="Nobody is waiting"),
        },
        **idempotent(scoped("tickets:call")),
    )
    def call_next(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[CallNext | None] = None,
    ) -> Response[TicketView | None]:
        """Call the next ticket of a queue, or of the agent's queues when none is named."""
        ticket = staffing.call_next(
            command_context(request, member), member.agent_id, data.queue_id if data else None
        )
        if ticket is None:
            return Response(None, status_code=204)
        return Response(ticket, status_code=200)

    @post(
        "/set-status",
        operation_id="setAgentStatus",
        status_code=200,
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 409, 422),
        **idempotent(scoped("agents:status")),
    )
    def set_status(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[AgentStatusChange],
    ) -> AgentView:
        """``available``, ``busy``, ``paused`` or ``offline``, and optionally the counter."""
        return staffing.set_agent_status(
            command_context(request, member), member.agent_id, data.status, data.counter
        )

    @get(
        "/",
        operation_id="listAgents",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("agents:read"),
    )
    def list_agents(
        self,
        staffing: UseCase[Staffing],
        consistency: UseCase[Consistency],
        request: Request,
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Paginated[AgentView]:
        """A page of the tenant's agents (one per staff user) with status, counter and queues,
        oldest first (a read model: it trails commands by the projection's lag, unless
        ``min_position`` asks to read one's own write)."""
        await_read_models(consistency, ("directory",), min_position)
        page = staffing.list_agents(member.tenant_id, page_request(cursor, limit))
        return to_response(page, limit)

    @get(
        "/board",
        operation_id="getAgentBoard",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("agents:read"),
    )
    def board(
        self,
        consistency: UseCase[Consistency],
        agent_board: UseCase[AgentBoard],
        request: Request,
        member: NamedDependency[Principal],
        site_id: SiteFilter = None,
        queue_id: QueueFilter = None,
        status: StatusFilter = None,
        min_position: MinPosition = None,
    ) -> list[BoardEntry]:
        """Who is available, busy, paused or offline, at which counter, holding which ticket,
        ordered by counter then name (a read model: it trails commands by the projection's
        lag, unless ``min_position`` asks to read one's own write)."""
        where = BoardFilter(site_id=site_id, queue_id=queue_id, status=status)
        await_read_models(consistency, ("agent_board",), min_position)
        return agent_board.board(member.tenant_id, where)

    @get(
        "/me",
        operation_id="getMyAgent",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404),
        **scoped("agents:status"),
    )
    def me(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
    ) -> AgentView:
        """The calling user's agent profile."""
        return staffing.get_agent(member.tenant_id, member.agent_id)

    @get(
        "/{agent_id:uuid}",
        operation_id="getAgent",
        sync_to_thread=True,
        responses=problems(401, 403, 404),
        **scoped("agents:read"),
    )
    def get_agent(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
        agent_id: FromPath[UUID],
    ) -> AgentView:
        """An agent's status, counter, queues and current ticket."""
        return staffing.get_agent(member.tenant_id, agent_id)

    @put(
        "/me/queues",
        operation_id="assignMyQueues",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422),
        **scoped("agents:status"),
    )
    def assign_my_queues(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[AgentQueues],
    ) -> AgentView:
        """Choose the queues one calls from when no queue is named (an agent at the console;
        a manager sets anyone's with ``PUT agents/{agent_id}/queues/``)."""
        return staffing.assign_agent_queues(
            command_context(request, member), member.agent_id, data.queue_ids
        )

    @put(
        "/{agent_id:uuid}/queues",
        operation_id="assignAgentQueues",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422),
        **scoped("agents:manage"),
    )
    def assign_queues(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
        agent_id: FromPath[UUID],
        data: JSONBody[AgentQueues],
    ) -> AgentView:
        """Set the queues the agent calls from when no queue is named."""
        return staffing.assign_agent_queues(
            command_context(request, member), agent_id, data.queue_ids
        )

    @put(
        "/{agent_id:uuid}/counter",
        operation_id="assignAgentCounter",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("agents:manage"),
    )
    def assign_counter(
        self,
        staffing: UseCase[Staffing],
        request: Request,
        member: NamedDependency[Principal],
        agent_id: FromPath[UUID],
        data: JSONBody[AgentCounter],
    ) -> AgentView:
        """Seat an agent at a counter (``null`` for none); their next call announces it."""
        return staffing.assign_agent_counter(
            command_context(request, member), agent_id, data.counter
        )
