"""Queue administration: reconfigure a queue, pause it, resume it, close it."""

from __future__ import annotations

from uuid import UUID

from application.base import ContextualApplication, retry_on_conflict
from application.context import CommandContext
from application.queueing import queue_view
from application.views import QueueView
from domain.errors import QueueNotFound, ResourceNotFound
from domain.queues import Queue
from domain.tenancy import Service


class QueueAdminCommands(ContextualApplication):
    """What managers do to queues. A paused queue takes no new tickets (issued or transferred in)
    but its waiting line can still be called; a closed one is done for good."""

    @retry_on_conflict
    def reconfigure_queue(
        self,
        context: CommandContext,
        queue_id: UUID,
        *,
        name: str | None = None,
        service_ids: list[UUID] | None = None,
        algorithm: str | None = None,
    ) -> QueueView:
        """Rename a queue, change its services or its selection algorithm (``None`` keeps one).

        Every service named must be one of the tenant's (another tenant's is "not found").
        Waiting tickets keep their service and their place in arrival order.
        """
        queue = self.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        name = queue.name if name is None else name
        algorithm = queue.policy if algorithm is None else algorithm
        if service_ids is None:
            service_ids = queue.service_ids
        else:
            Queue.check_definition(name, service_ids, algorithm)  # malformed before unknown
            for service_id in service_ids:
                self.load(Service, service_id, context.tenant_id, ResourceNotFound)
        queue.reconfigure(name, service_ids, algorithm)
        self.save_in_context(context, queue)
        return queue_view(queue)

    @retry_on_conflict
    def pause_queue(self, context: CommandContext, queue_id: UUID) -> QueueView:
        """Stop taking new tickets; agents can still call those already waiting."""
        queue = self.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        queue.pause()
        self.save_in_context(context, queue)
        return queue_view(queue)

    @retry_on_conflict
    def resume_queue(self, context: CommandContext, queue_id: UUID) -> QueueView:
        """Take new tickets again after a pause."""
        queue = self.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        queue.resume()
        self.save_in_context(context, queue)
        return queue_view(queue)

    @retry_on_conflict
    def close_queue(self, context: CommandContext, queue_id: UUID) -> QueueView:
        """Close a queue for good; refused while tickets still wait in it."""
        queue = self.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        queue.close()
        self.save_in_context(context, queue)
        return queue_view(queue)
