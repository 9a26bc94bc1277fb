"""Live updates over WebSockets: a queue's or an agent's snapshot, then its changes.

Any API process serves any client: changes arrive on Redis channels (Litestar's channels plugin,
Redis pub/sub backend), published by the display gateway (``smartqueue gateway``). A socket is
opened with a single-use ticket from ``POST ws-tickets/`` (browsers cannot send headers on a
WebSocket) and closed with a 44xx code when it may not, or may no longer, listen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID, uuid4

import anyio
import msgspec
import redis.asyncio
import structlog
from litestar import Controller, Request, WebSocket, post, websocket
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery

from application.devices import Devices
from application.errors import Unavailable
from application.identity import Identity, Principal
from application.live import ChangeHeader, LiveViews
from application.queues import Queues
from domain.errors import QueueNotFound
from domain.tenancy import Tenant
from interfaces.http.close_codes import (
    FORBIDDEN,
    LAGGING,
    NOT_FOUND,
    RESUBSCRIBE,
    TOO_MANY_SOCKETS,
    UNAUTHORIZED,
    UNAVAILABLE,
)
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.security import bearer_token, scoped

log = structlog.get_logger(__name__)

# How soon the live channels read Redis again after losing it: 0.1 s doubling to 1 s, so
# sockets get changes within about a second of Redis' return without spinning meanwhile.
STREAM_RETRY_FIRST = 0.1
STREAM_RETRY_MAX = 1.0


class SocketTickets(Protocol):
    """Single-use tickets that stand for an access token while a socket opens."""

    ttl_seconds: int

    def issue(self, access_token: str) -> str:
        """A new ticket for ``access_token``."""

    def redeem(self, ticket: str) -> str | None:
        """The access token ``ticket`` stood for, once; ``None`` if unknown, used or expired."""


class SocketSlots(Protocol):
    """The open sockets of each access token, at most ``limit``."""

    limit: int

    def acquire(self, token: str, slot: str) -> bool:
        """Take a slot for a new socket; False when the token holds them all."""

    def renew(self, token: str, slot: str) -> None:
        """Keep the slot's lease while the socket is open."""

    def release(self, token: str, slot: str) -> None:
        """Give the slot back when the socket closes."""


@dataclass(frozen=True)
class LiveSockets:
    """What the live sockets need, given by the composition root as one typed dependency."""

    identity: Identity
    devices: Devices
    queues: Queues
    views: LiveViews
    tickets: SocketTickets
    slots: SocketSlots
    queue_channel: Callable[[UUID, UUID], str]
    """The channel of a queue's changes, by tenant and queue."""
    agent_channel: Callable[[UUID, UUID], str]
    """The channel of an agent's changes, by tenant and agent."""
    heartbeat_channel: str
    """The display gateways' heartbeat channel, which every socket also hears."""
    token_check_seconds: float
    """How often an open socket's token is checked again."""


class SocketTicket(msgspec.Struct, kw_only=True):
    """Put ``ticket`` in the WebSocket's URL (``?ticket=``) within ``expires_in`` seconds."""

    ticket: str
    expires_in: int


class SocketTicketController(Controller):
    """Tickets that open live sockets."""

    path = f"{TENANT_PATH}/ws-tickets"
    tags = ["live"]
    dependencies = TENANT_SCOPED

    @post(
        "/",
        operation_id="createSocketTicket",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 503),
        **scoped("queues:read"),
    )
    def create(
        self,
        request: Request,
        member: NamedDependency[Principal],
        sockets: UseCase[LiveSockets],
    ) -> SocketTicket:
        """A single-use ticket for ``WS /ws/tenants/{slug}/queues/{queue_id}/`` or
        ``/agents/{agent_id}/?ticket=...``, standing for this request's token. The socket is
        checked against the token's rights when it opens, and closed when the token expires or
        is revoked."""
        token = bearer_token(request) or ""
        return SocketTicket(
            ticket=sockets.tickets.issue(token), expires_in=sockets.tickets.ttl_seconds
        )


class Refused(Exception):
    """The socket may not (or no longer) listen: close it with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Listener:
    """Who opened a socket (and the token it was opened with, checked again while it is open),
    the channels it listens to, and the name of the slot it holds among the token's sockets."""

    principal: Principal
    token: str
    channels: list[str]
    slot: str = field(default_factory=lambda: uuid4().hex)


def _principal(sockets: LiveSockets, ticket: str | None, slug: str, scope: str) -> Listener:
    """The principal behind ``ticket``, provided it may use ``scope`` in tenant ``slug``."""
    token = sockets.tickets.redeem(ticket) if ticket else None
    if token is None:
        raise Refused(UNAUTHORIZED, "ticket missing, unknown, used or expired")
    principal = sockets.identity.authenticate(token)
    if principal is None:
        raise Refused(UNAUTHORIZED, "the token is invalid, expired or revoked")
    if Tenant.create_id(slug) != principal.tenant_id:
        raise Refused(NOT_FOUND, f"no tenant {slug!r}")
    if scope not in principal.scopes:
        raise Refused(FORBIDDEN, f"this needs the {scope!r} scope")
    return Listener(principal, token, [])


class Ending:
    """Why the server ends a socket that is still wanted: set once, by the first reason."""

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.code = 1000
        self.reason = ""

    def end(self, code: int, reason: str) -> None:
        if not self.event.is_set():
            self.code, self.reason = code, reason
            self.event.set()

    @property
    def ended(self) -> bool:
        return self.event.is_set()


class BoundedSubscriber(Subscriber):
    """A subscriber whose backlog is bounded: a client too slow to take its changes is not
    sent some and silently left inconsistent; it is told to reconnect (and gets a snapshot)."""

    overflowed = False

    def put_nowait(self, item: bytes | None) -> bool:
        accepted = super().put_nowait(item)
        if not accepted:
            self.overflowed = True
        return accepted

    async def put(self, item: bytes | None) -> None:
        if item is None and self.overflowed:
            # The end-of-stream marker must fit even in a full backlog nobody reads any more.
            while self.qsize:
                self._queue.get_nowait()
                self._queue.task_done()
        await super().put(item)


class SerialPubSubBackend(RedisChannelsPubSubBackend):
    """Litestar's Redis pub/sub backend, subscribing one call at a time.

    redis-py's asyncio ``PubSub`` opens its connection on the first SUBSCRIBE without a lock:
    when two sockets' first subscriptions overlap (displays reconnecting together after a
    restart), each opens a connection and the second replaces the first, whose channels Redis
    still serves to a connection nobody reads: every socket of those channels in this process
    stays silent. ``bench/fanout.py`` showed it (a queue's 125 of 500 displays got nothing).
    """

    def __init__(self, *, redis: redis.asyncio.Redis) -> None:
        super().__init__(redis=redis)
        self._one_at_a_time = asyncio.Lock()

    async def subscribe(self, channels: Iterable[str]) -> None:
        async with self._one_at_a_time:
            await super().subscribe(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        async with self._one_at_a_time:
            await super().unsubscribe(channels)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Litestar's stream of published messages, outliving a Redis outage.

        Litestar's stream ends on the first Redis error, and with it the plugin's only reader:
        after Redis returned, every socket of the process got its snapshot and then nothing.
        Here the stream waits and reads again; redis-py's ``PubSub`` reconnects on that read
        and subscribes again to every channel it had.
        """
        pause = STREAM_RETRY_FIRST
        while True:
            try:
                async for event in super().stream_events():
                    pause = STREAM_RETRY_FIRST
                    yield event
            except (redis.RedisError, OSError) as error:
                log.warning("live channels cannot read Redis; retrying", error=repr(error)[:200])
                await asyncio.sleep(pause)
                pause = min(pause * 2, STREAM_RETRY_MAX)


def channels_plugin(redis_url: str, backlog: int) -> ChannelsPlugin:
    """The channels plugin on Redis pub/sub: what the gateway publishes reaches every process.
    The client opens its connections on first use (at startup), not here."""
    client = redis.asyncio.Redis.from_url(redis_url)
    return ChannelsPlugin(
        backend=SerialPubSubBackend(redis=client),
        arbitrary_channels_allowed=True,
        subscriber_class=BoundedSubscriber,
        subscriber_max_backlog=backlog,
        subscriber_backlog_strategy="backoff",
    )


async def _serve(
    socket: WebSocket,
    channels: ChannelsPlugin,
    sockets: LiveSockets,
    admit: Callable[[LiveSockets], Listener],
    snapshot: Callable[[LiveSockets, Listener], Any],
    still_current: Callable[[Listener, bytes], bool] = lambda listener, payload: True,
) -> None:
    """Accept; ``admit`` (or close with its refusal); take one of the token's socket slots (or
    close with 4429 when it holds them all); subscribe, then read the ``snapshot`` (so
    no change falls in between), send it and forward every change newer than it until the
    client leaves, its token stops being valid, it falls too far behind, or a change is one
    ``still_current`` says the subscription no longer fits (the client reconnects for a new
    snapshot)."""
    await socket.accept()
    try:
        listener = await anyio.to_thread.run_sync(admit, sockets)
    except Refused as refused:
        await socket.close(code=refused.code, reason=refused.reason)
        return
    except Unavailable as error:
        await socket.close(code=UNAVAILABLE, reason=str(error)[:120])
        return
    slots = sockets.slots
    try:
        admitted = await anyio.to_thread.run_sync(slots.acquire, listener.token, listener.slot)
    except Unavailable as error:
        await socket.close(code=UNAVAILABLE, reason=str(error)[:120])
        return
    if not admitted:
        reason = f"this token already holds {slots.limit} open sockets; close one first"
        await socket.close(code=TOO_MANY_SOCKETS, reason=reason)
        return
    try:
        await _listen(socket, channels, sockets, listener, snapshot, still_current)
    finally:
        with anyio.CancelScope(shield=True):  # also when the server shuts down mid-socket
            await anyio.to_thread.run_sync(slots.release, listener.token, listener.slot)


async def _listen(
    socket: WebSocket,
    channels: ChannelsPlugin,
    sockets: LiveSockets,
    listener: Listener,
    snapshot: Callable[[LiveSockets, Listener], Any],
    still_current: Callable[[Listener, bytes], bool],
) -> None:
    """Subscribe, send the snapshot, then forward changes (see ``_serve``)."""
    listener.channels.append(sockets.heartbeat_channel)
    subscriber = await channels.subscribe(listener.channels)
    try:
        try:
            first = await anyio.to_thread.run_sync(snapshot, sockets, listener)
        except Refused as refused:
            await socket.close(code=refused.code, reason=refused.reason)
            return
        await socket.send_text(msgspec.json.encode(first).decode())
        ending = Ending()

        async def forward(payload: bytes) -> None:
            if ending.ended:
                return
            if getattr(subscriber, "overflowed", False):
                ending.end(LAGGING, "too far behind; reconnect")
                return
            header = msgspec.json.decode(payload, type=ChangeHeader)
            if header.type == "change" and header.as_of <= first.as_of:
                return
            await socket.send_text(payload.decode())
            if not still_current(listener, payload):
                ending.end(RESUBSCRIBE, "the subscription changed; reconnect")

        async with subscriber.run_in_background(forward, join=False):
            await _hold(socket, sockets, listener, ending)
    finally:
        await channels.unsubscribe(subscriber, listener.channels)


async def hold(
    socket: WebSocket, interval: float, ending: Ending, check: Callable[[], Awaitable[None]]
) -> None:
    """Wait for the client to leave; every ``interval`` seconds run ``check`` (which may end
    the socket), and close the socket when the server ends it. What clients send is ignored."""
    async with anyio.create_task_group() as group:

        async def close_when_ended() -> None:
            await ending.event.wait()
            await socket.close(code=ending.code, reason=ending.reason)
            group.cancel_scope.cancel()

        group.start_soon(close_when_ended)
        while True:
            with anyio.move_on_after(interval):
                try:
                    while True:
                        await socket.receive_data(mode="text")  # nothing clients say matters
                except WebSocketDisconnect:
                    group.cancel_scope.cancel()
                    return
            await check()


async def _hold(
    socket: WebSocket, sockets: LiveSockets, listener: Listener, ending: Ending
) -> None:
    """Hold a staff or device socket: every few seconds check that its token still holds."""

    async def check_token() -> None:
        try:
            valid = await anyio.to_thread.run_sync(sockets.identity.authenticate, listener.token)
        except Unavailable:
            return  # Redis is down: keep serving what was authorized, check again later
        if valid is None:
            ending.end(UNAUTHORIZED, "the token expired or was revoked")
            return
        with contextlib.suppress(Unavailable):  # a lapsed lease only risks one extra socket
            await anyio.to_thread.run_sync(sockets.slots.renew, listener.token, listener.slot)

    await hold(socket, sockets.token_check_seconds, ending, check_token)


@websocket("/ws/tenants/{slug:str}/queues/{queue_id:uuid}", name="queue_socket")
async def queue_socket(
    socket: WebSocket,
    slug: FromPath[str],
    queue_id: FromPath[UUID],
    channels: NamedDependency[ChannelsPlugin],
    sockets: UseCase[LiveSockets],
    ticket: FromQuery[str | None] = None,
) -> None:
    """A queue's snapshot (now serving, last calls, waiting count and next numbers), then its
    changes. Needs ``queues:read``; a display only for its own site's queues."""

    def admit(sockets: LiveSockets) -> Listener:
        listener = _principal(sockets, ticket, slug, "queues:read")
        tenant_id, site_id = listener.principal.tenant_id, listener.principal.site_id
        missing = QueueNotFound(f"no queue with id {queue_id}")
        try:
            sockets.devices.check_queue_site(tenant_id, site_id, queue_id, missing)
            sockets.queues.get_queue(tenant_id, queue_id)
        except QueueNotFound as error:
            raise Refused(NOT_FOUND, str(error)) from None
        listener.channels.append(sockets.queue_channel(tenant_id, queue_id))
        return listener

    def snapshot(sockets: LiveSockets, listener: Listener) -> Any:
        return sockets.views.queue_snapshot(listener.principal.tenant_id, queue_id)

    await _serve(socket, channels, sockets, admit, snapshot)


class _AgentQueues(msgspec.Struct):
    agent: dict[str, Any] | None = None


@websocket("/ws/tenants/{slug:str}/agents/{agent_id:uuid}", name="agent_socket")
async def agent_socket(
    socket: WebSocket,
    slug: FromPath[str],
    agent_id: FromPath[UUID],
    channels: NamedDependency[ChannelsPlugin],
    sockets: UseCase[LiveSockets],
    ticket: FromQuery[str | None] = None,
) -> None:
    """An agent's snapshot (status, counter, held ticket, served today, and the waiting count
    of each of their queues), then its changes and those of their queues. Needs
    ``agents:read``. When the agent's queues change, the socket sends that change and closes
    with 4409: reconnect to listen to the new queues."""

    def admit(sockets: LiveSockets) -> Listener:
        listener = _principal(sockets, ticket, slug, "agents:read")
        tenant_id = listener.principal.tenant_id
        agent = sockets.views.agent(tenant_id, agent_id)
        if agent is None:
            raise Refused(NOT_FOUND, f"no agent with id {agent_id}")
        listener.channels.append(sockets.agent_channel(tenant_id, agent_id))
        listener.channels.extend(
            sockets.queue_channel(tenant_id, queue) for queue in agent.queue_ids
        )
        return listener

    def snapshot(sockets: LiveSockets, listener: Listener) -> Any:
        first = sockets.views.agent_snapshot(listener.principal.tenant_id, agent_id)
        if first is None:
            raise Refused(NOT_FOUND, f"no agent with id {agent_id}")
        return first

    def still_current(listener: Listener, payload: bytes) -> bool:
        agent = msgspec.json.decode(payload, type=_AgentQueues).agent
        if agent is None:
            return True
        tenant_id = listener.principal.tenant_id
        wanted = {sockets.queue_channel(tenant_id, UUID(queue)) for queue in agent["queue_ids"]}
        listening = {name for name in listener.channels if ".queue." in name}
        return wanted == listening

    await _serve(socket, channels, sockets, admit, snapshot, still_current)
