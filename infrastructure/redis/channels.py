"""The Redis pub/sub channels live changes travel on: the display gateway publishes on them,
every API process subscribes its sockets to them.

The names are Redis's concern, not the application's: :class:`application.live.Publication`
says *who* a change is for (:class:`application.live.Audience`), and :func:`channel_of` says on
which channel those sockets listen.
"""

from __future__ import annotations

from uuid import UUID

from application.live import Audience


def queue_channel(tenant_id: UUID, queue_id: UUID) -> str:
    """The channel of one queue's changes (the tenant is part of the name)."""
    return f"sq.live.{tenant_id}.queue.{queue_id}"


def agent_channel(tenant_id: UUID, agent_id: UUID) -> str:
    """The channel of one agent's changes."""
    return f"sq.live.{tenant_id}.agent.{agent_id}"


def heartbeat_channel(group: str) -> str:
    """The channel of the heartbeat of ``group``'s display gateways, which every socket also
    hears: silence means changes are not flowing. (Redis pub/sub channels span the server's
    databases: a group of its own keeps another deployment's gateways out.)"""
    return f"sq.live.heartbeat.{group}"


def channel_of(audience: Audience) -> str:
    """The channel the sockets of ``audience`` listen on."""
    if audience.kind == "agent":
        return agent_channel(audience.tenant_id, audience.id)
    return queue_channel(audience.tenant_id, audience.id)
