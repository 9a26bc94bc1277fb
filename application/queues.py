"""Queues: opening them at a site, reconfiguring, pausing, resuming and closing them."""

from __future__ import annotations

from enum import Enum
from typing import Final
from uuid import UUID

import msgspec

from application.app import SmartQueue
from application.base import retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest
from application.ports import Directory, NoQueueLock, QueueLock
from application.views import QueueDetail, QueueView
from domain.errors import QueueNotFound, ResourceNotFound
from domain.queues import AppointmentPlacement, Queue
from domain.tenancy import Service, Site, Tenant


class Keep(Enum):
    """The value of a setting a command leaves as it is (where ``None`` means "off")."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


class Queues:
    """What managers do to queues, and the list of them (from the directory read model). A
    paused queue takes no new tickets (issued or transferred in) but its waiting line can still
    be called; a closed one is done for good.

    Changing a queue takes its lock, like the agents' commands: a manager pausing a queue that
    eight agents are calling from waits a turn rather than losing race after race to them."""

    def __init__(
        self,
        store: SmartQueue,
        directory: Directory | None = None,
        queue_lock: QueueLock | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        """The directory read model the lists come from (a command-only user may go without)."""
        self.queue_lock = queue_lock or NoQueueLock()

    @retry_on_conflict
    def open_queue(
        self,
        context: CommandContext,
        name: str,
        site_id: UUID,
        service_ids: list[UUID],
        algorithm: str,
    ) -> QueueDetail:
        """Open a queue at a site for some of the tenant's services."""
        Queue.check_definition(name, service_ids, algorithm)
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = self.store.load(Site, site_id, tenant.id, ResourceNotFound)
        for service_id in service_ids:
            self.store.load(Service, service_id, tenant.id, ResourceNotFound)
        queue = Queue(
            tenant_id=tenant.id,
            site_id=site.id,
            name=name.strip(),
            service_ids=list(service_ids),
            policy=algorithm,
            timezone=site.timezone,
        )
        tenant.add_queue(queue.id)
        self.store.save_in_context(context, tenant, queue)
        return queue_detail(queue)

    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueDetail:
        """One queue of the tenant with its waiting count."""
        return queue_detail(self.store.load(Queue, queue_id, tenant_id, QueueNotFound))

    def list_queues(
        self, tenant_id: UUID, page: PageRequest | None = None, site_id: UUID | None = None
    ) -> Page[QueueView]:
        """A page of the tenant's queues with their waiting counts, oldest first; only those of
        ``site_id`` when given."""
        if self.directory is None:
            raise RuntimeError("lists need the directory read model; the composition root wires it")
        return self.directory.queues(tenant_id, page or PageRequest(), site_id=site_id)

    @retry_on_conflict
    def reconfigure_queue(
        self,
        context: CommandContext,
        queue_id: UUID,
        *,
        name: str | None = None,
        service_ids: list[UUID] | None = None,
        algorithm: str | None = None,
        auto_no_show_minutes: int | Keep | None = KEEP,
        appointment_placement: str | None = None,
        appointment_priority: int | None = None,
    ) -> QueueDetail:
        """Rename a queue, change its services or its selection algorithm (``None`` keeps one),
        set or clear (``None``) its auto no-show delay (``KEEP`` keeps it), and choose how
        on-time checked-in appointments join (``appointment_placement`` ``booked_time``, or
        ``priority`` with ``appointment_priority``; ``None`` keeps each, and a priority given
        alone changes the boost of a queue that gives one).

        Every service named must be one of the tenant's (another tenant's is "not found").
        Waiting tickets keep their service and their place in arrival order. The checks see
        the request as a whole: ``{"algorithm": "fifo", "appointment_placement":
        "booked_time"}`` drops a boost and leaves the priority algorithm in one go.
        """
        with self.queue_lock.holding([queue_id]):
            queue = self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
            name = queue.name if name is None else name
            algorithm = queue.policy if algorithm is None else algorithm
            if service_ids is None:
                service_ids = queue.service_ids
            else:
                Queue.check_definition(name, service_ids, algorithm)  # malformed before unknown
                for service_id in service_ids:
                    self.store.load(Service, service_id, context.tenant_id, ResourceNotFound)
            if not isinstance(auto_no_show_minutes, Keep):
                queue.set_auto_no_show(auto_no_show_minutes)
            placement = _placement_asked(queue, appointment_placement, appointment_priority)
            # A boost is checked against the new algorithm, and the new algorithm against the
            # boost left: dropping the boost comes first, giving one comes last.
            if placement is not None and placement[1] is None:
                queue.set_appointment_placement(*placement)
            queue.reconfigure(name, service_ids, algorithm)
            if placement is not None and placement[1] is not None:
                queue.set_appointment_placement(*placement)
            self.store.save_in_context(context, queue)
        return queue_detail(queue)

    @retry_on_conflict
    def pause_queue(self, context: CommandContext, queue_id: UUID) -> QueueDetail:
        """Stop taking new tickets; agents can still call those already waiting."""
        with self.queue_lock.holding([queue_id]):
            queue = self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
            queue.pause()
            self.store.save_in_context(context, queue)
        return queue_detail(queue)

    @retry_on_conflict
    def resume_queue(self, context: CommandContext, queue_id: UUID) -> QueueDetail:
        """Take new tickets again after a pause."""
        with self.queue_lock.holding([queue_id]):
            queue = self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
            queue.resume()
            self.store.save_in_context(context, queue)
        return queue_detail(queue)

    @retry_on_conflict
    def close_queue(self, context: CommandContext, queue_id: UUID) -> QueueDetail:
        """Close a queue for good; refused while tickets still wait in it."""
        with self.queue_lock.holding([queue_id]):
            queue = self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
            queue.close()
            self.store.save_in_context(context, queue)
        return queue_detail(queue)


def _placement_asked(
    queue: Queue, placement: str | None, priority: int | None
) -> tuple[str, int | None] | None:
    """The appointment placement a reconfiguration asks for, its omitted half filled from the
    queue (a priority is kept only while the placement stays ``priority``); ``None``: neither
    was given."""
    if placement is None and priority is None:
        return None
    placement = queue.appointment_placement if placement is None else placement
    if priority is None and placement == AppointmentPlacement.PRIORITY:
        priority = queue.appointment_priority
    return placement, priority


def queue_view(queue: Queue) -> QueueView:
    """What clients see of a queue in the list of queues (the directory read model)."""
    return QueueView(
        id=queue.id,
        name=queue.name,
        site_id=queue.site_id,
        service_ids=list(queue.service_ids),
        algorithm=queue.policy,
        status=str(queue.status),
        waiting=len(queue.waiting),
        auto_no_show_minutes=queue.auto_no_show_minutes,
    )


def queue_detail(queue: Queue) -> QueueDetail:
    """What clients see of one queue: :func:`queue_view` and its appointment placement."""
    return QueueDetail(
        **msgspec.structs.asdict(queue_view(queue)),
        appointment_placement=queue.appointment_placement,
        appointment_priority=queue.appointment_priority,
    )
