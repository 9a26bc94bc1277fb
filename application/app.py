"""The SmartQueue application: one event store and one notification log for every context.

It holds no use case: those are the contexts' classes, each in its own module."""

from __future__ import annotations

from typing import ClassVar

from application.base import ContextualApplication
from domain.agents import Agent
from domain.numbering import DailyCounter
from domain.queues import Queue
from domain.schedule import Schedule
from domain.tenancy import Tenant


class SmartQueue(ContextualApplication):
    """The unit of work every context shares: loads, finds and saves (in one transaction, stamped
    with the command's context) over one event store.

    The contexts (``Tenancy``, ``Catalogue``, ``Queues``, ``Tickets``, ``Staffing``,
    ``Customers``, ``Devices``, ``Identity``) each take this store; they share one notification
    log, so a queue's opening and its entry in the tenant's directory commit together, and the
    relay and projections follow a single ordered stream.
    """

    name = "SmartQueue"
    # Long-lived aggregates are snapshotted so loading them costs the same after a million events
    # as after ten: at most one snapshot plus SNAPSHOT_INTERVAL - 1 events are read.
    SNAPSHOT_INTERVAL = 50
    snapshotting_intervals: ClassVar = {
        Queue: SNAPSHOT_INTERVAL,
        Agent: SNAPSHOT_INTERVAL,
        DailyCounter: SNAPSHOT_INTERVAL,
        Tenant: SNAPSHOT_INTERVAL,
        Schedule: SNAPSHOT_INTERVAL,
    }
