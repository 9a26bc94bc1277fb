"""Live updates for hall displays and agent screens (see ``application.live.views``): the
messages a socket is sent, and the views that read them from the read models."""

from application.live.messages import (
    HEARTBEAT_SECONDS,
    AgentSnapshot,
    Change,
    ChangeHeader,
    Heartbeat,
    LiveAgent,
    LiveTicket,
    PublicChange,
    PublicSnapshot,
    QueueSnapshot,
    QueueSummary,
)
from application.live.views import (
    READ_MODELS,
    Audience,
    BatchReads,
    LiveEvent,
    LiveRecords,
    LiveViews,
    Publication,
    QueueLine,
    TicketEtas,
)

__all__ = [
    "HEARTBEAT_SECONDS",
    "READ_MODELS",
    "AgentSnapshot",
    "Audience",
    "BatchReads",
    "Change",
    "ChangeHeader",
    "Heartbeat",
    "LiveAgent",
    "LiveEvent",
    "LiveRecords",
    "LiveTicket",
    "LiveViews",
    "PublicChange",
    "PublicSnapshot",
    "Publication",
    "QueueLine",
    "QueueSnapshot",
    "QueueSummary",
    "TicketEtas",
]
