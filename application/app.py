"""The SmartQueue application: one event store and one notification log for every context."""

from __future__ import annotations

from typing import ClassVar

from application.customers import CustomerCommands
from application.platform import PlatformCommands
from application.queue_admin import QueueAdminCommands
from application.queueing import QueueingCommands
from application.services import ServiceCommands
from application.sites import SiteCommands
from application.staffing import StaffingCommands
from application.tenancy import TenancyCommands
from domain.agents import Agent
from domain.numbering import DailyCounter
from domain.queues import Queue
from domain.tenancy import Tenant


class SmartQueue(
    PlatformCommands,
    TenancyCommands,
    SiteCommands,
    ServiceCommands,
    QueueingCommands,
    QueueAdminCommands,
    StaffingCommands,
    CustomerCommands,
):
    """Tenancy and queueing share one log, so a queue's opening and its entry in the tenant's
    directory commit together, and the relay and projections follow a single ordered stream.
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
    }
