"""Waiting lines: open, reconfigure, pause, resume and close them."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from application.consistency import Consistency
from application.devices import Devices
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.queues import KEEP, Queues
from application.views import QueueDetail, QueueView
from domain.errors import QueueNotFound
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import QueueCreate, QueuePatch, given
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)
STATE_ERRORS = problems(400, 401, 403, 404, 409, 503)

# Path segment -> application command; each answers with the queue as it is afterwards.
STATE_COMMANDS = {"pause": "pause_queue", "resume": "resume_queue", "close": "close_queue"}


def _state_change(action: str, operation_id: str, summary: str):
    """A ``POST queues/{id}/<action>/`` handler running the matching queue command."""

    @post(
        f"/{{queue_id:uuid}}/{action}",
        operation_id=operation_id,
        status_code=200,
        sync_to_thread=True,
        responses=STATE_ERRORS,
        summary=summary,
        **scoped("queues:manage"),
    )
    def handler(
        self: Controller,
        queues: UseCase[Queues],
        request: Request,
        member: NamedDependency[Principal],
        queue_id: FromPath[UUID],
    ) -> QueueDetail:
        command = getattr(queues, STATE_COMMANDS[action])
        return command(command_context(request, member), queue_id)

    handler.__doc__ = summary
    return handler


class QueueController(Controller):
    """Waiting lines of the tenant."""

    path = f"{TENANT_PATH}/queues"
    tags = ["queues"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listQueues",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("queues:read"),
    )
    def list_queues(
        self,
        queues: UseCase[Queues],
        consistency: UseCase[Consistency],
        request: Request,
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Paginated[QueueView]:
        """A page of the tenant's queues with their waiting counts, oldest first (a device's
        token sees its own site's only). A read model: it trails commands by the projection's
        lag, unless ``min_position`` asks to read one's own write."""
        await_read_models(consistency, ("directory",), min_position)
        page = queues.list_queues(
            member.tenant_id, page_request(cursor, limit), site_id=member.site_id
        )
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createQueue",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("queues:manage"),
    )
    def create_queue(
        self,
        queues: UseCase[Queues],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[QueueCreate],
    ) -> QueueDetail:
        """Open a queue at a site for some services, with a selection algorithm."""
        return queues.open_queue(
            command_context(request, member),
            data.name,
            data.site_id,
            data.service_ids,
            data.algorithm,
        )

    @get(
        "/{queue_id:uuid}",
        operation_id="getQueue",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("queues:read"),
    )
    def get_queue(
        self,
        devices: UseCase[Devices],
        queues: UseCase[Queues],
        request: Request,
        member: NamedDependency[Principal],
        queue_id: FromPath[UUID],
    ) -> QueueDetail:
        """One queue."""
        missing = QueueNotFound(f"no queue with id {queue_id}")
        devices.check_queue_site(member.tenant_id, member.site_id, queue_id, missing)
        return queues.get_queue(member.tenant_id, queue_id)

    @patch(
        "/{queue_id:uuid}",
        operation_id="updateQueue",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("queues:manage"),
    )
    def update_queue(
        self,
        queues: UseCase[Queues],
        request: Request,
        member: NamedDependency[Principal],
        queue_id: FromPath[UUID],
        data: JSONBody[QueuePatch],
    ) -> QueueDetail:
        """Rename a queue, change its services, algorithm or auto no-show delay (null: off),
        or how on-time checked-in appointments join (``appointment_placement`` ``booked_time``,
        or ``priority`` with ``appointment_priority``: 422 unless the queue's algorithm is
        ``priority``); ``{}`` changes nothing. A closed queue cannot be reconfigured (409)."""
        return queues.reconfigure_queue(
            command_context(request, member),
            queue_id,
            name=given(data.name),
            service_ids=given(data.service_ids),
            algorithm=given(data.algorithm),
            auto_no_show_minutes=KEEP
            if data.auto_no_show_minutes is UNSET
            else data.auto_no_show_minutes,
            appointment_placement=given(data.appointment_placement),
            appointment_priority=given(data.appointment_priority),
        )

    pause = _state_change(
        "pause", "pauseQueue", "Stop taking new tickets; those waiting can still be called."
    )
    resume = _state_change("resume", "resumeQueue", "Take new tickets again after a pause.")
    close = _state_change(
        "close", "closeQueue", "Close the queue for good (refused while tickets wait)."
    )
