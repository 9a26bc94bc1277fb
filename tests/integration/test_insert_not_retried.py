"""A save whose connection is lost mid-write is tried once and fails, rather than being retried
by the event store library: had the loss come during COMMIT, after the events were stored, the
retry would have run the command again (its duplicate versions read as a concurrency conflict,
and the command is re-run on a conflict), issuing a second ticket."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from application.context import CommandContext

pytestmark = pytest.mark.integration


class CutsItsConnection:
    """A side write that has the server end its own session in the middle of the save."""

    def __init__(self) -> None:
        self.attempts = 0

    def apply(self, transaction: Any) -> None:
        self.attempts += 1
        transaction.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_a_save_losing_its_connection_is_tried_once_and_fails(world):
    cut = CutsItsConnection()
    context = CommandContext(tenant_id=world.tenant_id, side_writes=(cut,))
    waiting_before = world.container.queues.get_queue(world.tenant_id, world.queue_id).waiting

    with pytest.raises(OperationalError):
        world.container.tickets.issue_ticket(context, world.queue_id)

    assert cut.attempts == 1
    assert (
        world.container.queues.get_queue(world.tenant_id, world.queue_id).waiting == waiting_before
    )
