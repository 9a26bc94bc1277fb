"""``WS /ws/public/tickets/{token}/``: a customer's own ticket, live.

The capability token in the path is the only credential. The socket listens to the ticket's
queue channel (what the display gateway publishes there), and on each change re-reads *this*
ticket and sends it when it differs from what the client has: the client never sees another
ticket, only its own and its queue's public summary (name, waiting count). Messages are a
``snapshot`` first, then ``change``s, and the gateway's ``heartbeat``s; a ticket moved to
another queue closes the socket with 4409 (reconnect), a token that expired with 4404. The
AsyncAPI document describes it as ``publicTicketSocket`` (close codes: ``PUBLIC_CLOSE_CODES``).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import anyio
import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath

from application.errors import Unavailable
from application.live import ChangeHeader, PublicChange, PublicSnapshot
from application.public_tickets import PublicTickets
from application.public_views import Followed
from domain.errors import NotFound
from interfaces.http.close_codes import (
    LAGGING,
    NOT_FOUND,
    RESUBSCRIBE,
    TOO_MANY_SOCKETS,
    UNAVAILABLE,
)
from interfaces.http.controllers.common import UseCase
from interfaces.http.controllers.live import Ending, LiveSockets, hold


def _encode(message: Any) -> str:
    return msgspec.json.encode(message).decode()


@websocket("/ws/public/tickets/{token:str}", name="public_ticket_socket")
async def public_ticket_socket(
    socket: WebSocket,
    token: FromPath[str],
    channels: NamedDependency[ChannelsPlugin],
    sockets: UseCase[LiveSockets],
    public: UseCase[PublicTickets],
) -> None:
    """The ticket ``token`` proves: a snapshot, then its changes (no staff token, no ticket)."""
    await socket.accept()
    try:
        first: Followed = await anyio.to_thread.run_sync(public.follow, token)
    except NotFound:
        await socket.close(code=NOT_FOUND, reason="no such ticket")
        return
    except Unavailable as error:
        await socket.close(code=UNAVAILABLE, reason=str(error)[:120])
        return
    slots, holder, slot = sockets.slots, f"public:{token}", uuid4().hex
    try:
        admitted = await anyio.to_thread.run_sync(slots.acquire, holder, slot)
    except Unavailable as error:
        await socket.close(code=UNAVAILABLE, reason=str(error)[:120])
        return
    if not admitted:
        reason = f"this ticket already has {slots.limit} open sockets; close one first"
        await socket.close(code=TOO_MANY_SOCKETS, reason=reason)
        return
    try:
        await _follow(socket, channels, sockets, public, token, first)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(slots.release, holder, slot)


async def _follow(
    socket: WebSocket,
    channels: ChannelsPlugin,
    sockets: LiveSockets,
    public: PublicTickets,
    token: str,
    first: Followed,
) -> None:
    names = [
        sockets.queue_channel(first.tenant_id, first.queue_id),
        sockets.heartbeat_channel,
    ]
    subscriber = await channels.subscribe(names)
    try:
        # Read again once subscribed, so no change falls between the snapshot and the stream.
        current = await anyio.to_thread.run_sync(public.follow, token)
        await socket.send_text(_encode(PublicSnapshot(ticket=current.ticket)))
        sent = current.ticket
        ending = Ending()
        one_at_a_time = anyio.Lock()  # a change and the periodic check may both read

        async def refresh() -> None:
            async with one_at_a_time:
                await _refresh()

        async def _refresh() -> None:
            nonlocal sent
            try:
                now = await anyio.to_thread.run_sync(public.follow, token)
            except NotFound:
                ending.end(NOT_FOUND, "the ticket link expired")
                return
            except Unavailable:
                return  # the next change or check reads again
            if now.ticket != sent:
                sent = now.ticket
                await socket.send_text(_encode(PublicChange(ticket=now.ticket)))
            if now.queue_id != first.queue_id:
                ending.end(RESUBSCRIBE, "the ticket moved to another queue; reconnect")

        async def forward(payload: bytes) -> None:
            if ending.ended:
                return
            if getattr(subscriber, "overflowed", False):
                ending.end(LAGGING, "too far behind; reconnect")
                return
            header = msgspec.json.decode(payload, type=ChangeHeader)
            if header.type == "change":
                await refresh()
            else:
                await socket.send_text(payload.decode())  # the heartbeat: changes flow

        async with subscriber.run_in_background(forward, join=False):
            # Read the ticket again now and then: its link may have expired with its day.
            await hold(socket, sockets.token_check_seconds, ending, refresh)
    finally:
        await channels.unsubscribe(subscriber, names)
