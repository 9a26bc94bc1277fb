"""Display clients of the fan-out benchmark: one process holding many WebSocket connections.

    python -m bench.ws_clients CONFIG.json

Each client gets a single-use ticket (``POST .../ws-tickets/`` with its display's token), opens
its queue socket, reads the snapshot, then notes when each change arrives, by (ticket id, ticket
status), with ``time.monotonic()`` (the clock the command driver uses in its own process). Like a
display, it sends nothing and reconnects with a new ticket (backoff 0.5 s doubling to 5 s) when
the server closes with anything but 4401/4403/4404.
A command that left a ticket in status S counts as delivered to a client at the first change
showing that ticket in S or a later status (``bench.fanout_load.first_showing``).

Talks to the benchmark by lines: prints ``{"type": "connected", ...}`` once every client has its
snapshot; then answers ``check PATH`` (a JSON list of commands) with how many (client, command)
pairs have not arrived yet, ``report PATH OUT`` by writing the latencies and misses per run to
OUT, and ``quit`` by closing every socket and exiting.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from bench.fanout_load import first_showing

FINAL_CLOSE_CODES = frozenset({4401, 4403, 4404})
CONNECT_CONCURRENCY = 50
OPEN_TIMEOUT_SECONDS = 30.0
CONNECT_ATTEMPTS = 5


@dataclass
class Client:
    """One display client and what it saw."""

    index: int
    api: str
    queue_id: str
    token: str
    arrivals: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per ticket id, the first arrival of a change showing it in each status."""
    connect_started: float = 0.0
    connected_at: float = 0.0
    reconnects: int = 0
    connect_retries: int = 0
    closed_for_good: int | None = None
    changes: int = 0


class Clients:
    """Every client of this process, their connections and readers."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.slug = config["slug"]
        self.concurrency = config.get("concurrency", CONNECT_CONCURRENCY)
        self.clients = [Client(**entry) for entry in config["clients"]]
        self.http = httpx.AsyncClient(
            timeout=30, trust_env=False, limits=httpx.Limits(max_connections=CONNECT_CONCURRENCY)
        )
        self.tasks: list[asyncio.Task[None]] = []
        self.errors: list[str] = []

    async def ticket(self, client: Client) -> str:
        response = await self.http.post(
            f"{client.api}/api/v1/tenants/{self.slug}/ws-tickets/",
            headers={"Authorization": f"Bearer {client.token}"},
        )
        response.raise_for_status()
        return response.json()["ticket"]

    async def open(self, client: Client) -> Any:
        """A new ticket, the socket, and its snapshot (read and checked)."""
        ticket = await self.ticket(client)
        host = client.api.removeprefix("http://")
        url = f"ws://{host}/ws/tenants/{self.slug}/queues/{client.queue_id}/?ticket={ticket}"
        socket = await websockets.connect(
            url, open_timeout=OPEN_TIMEOUT_SECONDS, ping_interval=None, max_queue=None
        )
        first = json.loads(await socket.recv())
        if first.get("type") != "snapshot":
            raise RuntimeError(f"first message is not a snapshot: {str(first)[:200]}")
        return socket

    async def connect(self, client: Client, gate: asyncio.Semaphore) -> None:
        """Open the client's socket; like a display, try again (with a new ticket) after a
        transport error, up to ``CONNECT_ATTEMPTS`` times."""
        async with gate:
            client.connect_started = time.monotonic()
            for attempt in range(CONNECT_ATTEMPTS):
                try:
                    socket = await self.open(client)
                    break
                except (httpx.TransportError, OSError, websockets.WebSocketException) as error:
                    if attempt == CONNECT_ATTEMPTS - 1:
                        raise
                    client.connect_retries += 1
                    self.errors.append(f"connect: {error!r}")
                    await asyncio.sleep(0.5 * 2**attempt)
            client.connected_at = time.monotonic()
        self.tasks.append(asyncio.create_task(self.read(client, socket)))

    async def read(self, client: Client, socket: Any) -> None:
        """Note each change's arrival; reconnect as a display would."""
        backoff = 0.5
        while True:
            try:
                async for message in socket:
                    arrived = time.monotonic()
                    self.note(client, json.loads(message), arrived)
                code = socket.close_code
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            if code in FINAL_CLOSE_CODES:
                client.closed_for_good = code
                return
            while True:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                try:
                    socket = await self.open(client)
                    client.reconnects += 1
                    backoff = 0.5
                    break
                except Exception as error:
                    self.errors.append(f"reconnect: {error!r}")

    @staticmethod
    def note(client: Client, message: dict[str, Any], arrived: float) -> None:
        if message.get("type") != "change":
            return
        client.changes += 1
        ticket = message.get("ticket")
        if ticket:
            client.arrivals.setdefault(ticket["id"], {}).setdefault(ticket["status"], arrived)

    @staticmethod
    def delivered(client: Client, command: dict[str, Any]) -> float | None:
        """When ``client`` first showed the command's effect (its status or a later one)."""
        return first_showing(client.arrivals.get(command["ticket_id"]), command["status"])

    def missing(self, commands: list[dict[str, Any]]) -> int:
        """(client, command) pairs of these commands not arrived yet."""
        count = 0
        for client in self.clients:
            for command in commands:
                if command["queue_id"] == client.queue_id:
                    count += self.delivered(client, command) is None
        return count

    def silent(self) -> dict[str, int]:
        """Clients that got no change at all, by API process and queue (a diagnosis)."""
        silent: dict[str, int] = {}
        for client in self.clients:
            if client.changes == 0:
                where = f"{client.api} queue {client.queue_id}"
                silent[where] = silent.get(where, 0) + 1
        return silent

    def report(self, commands: list[dict[str, Any]]) -> dict[str, Any]:
        """Per run: every (client, command) latency in seconds from the command's return, and
        from its change's publication on Redis when the command has ``published_at``; each
        client's misses."""
        runs: dict[str, dict[str, list[float] | list[int]]] = {}
        for command in commands:
            runs.setdefault(str(command["run"]), {"latencies": [], "from_redis": [], "missed": []})
        for run, figures in runs.items():
            mine = [command for command in commands if str(command["run"]) == run]
            latencies: list[float] = []
            from_redis: list[float] = []
            missed: list[int] = []
            for client in self.clients:
                lost = 0
                for command in mine:
                    if command["queue_id"] != client.queue_id:
                        continue
                    arrived = self.delivered(client, command)
                    if arrived is None:
                        lost += 1
                        continue
                    latencies.append(round(arrived - command["returned_at"], 6))
                    if command.get("published_at") is not None:
                        from_redis.append(round(arrived - command["published_at"], 6))
                missed.append(lost)
            figures["latencies"], figures["from_redis"] = latencies, from_redis
            figures["missed"] = missed
        return {
            "runs": runs,
            "reconnects": sum(client.reconnects for client in self.clients),
            "closed_for_good": [c.closed_for_good for c in self.clients if c.closed_for_good],
            "changes": sum(client.changes for client in self.clients),
            "errors": self.errors[:20],
        }

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def serve(config: dict[str, Any]) -> None:
    clients = Clients(config)
    gate = asyncio.Semaphore(clients.concurrency)
    try:
        await asyncio.gather(*(clients.connect(client, gate) for client in clients.clients))
    except Exception as error:
        say({"type": "failed", "error": repr(error)})
        await clients.close()
        return
    say(
        {
            "type": "connected",
            "started": min(client.connect_started for client in clients.clients),
            "finished": max(client.connected_at for client in clients.clients),
            "each": [client.connected_at - client.connect_started for client in clients.clients],
            "retries": sum(client.connect_retries for client in clients.clients),
        }
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().split():
            if line[0] == "check":
                with open(line[1]) as file:
                    missing = clients.missing(json.load(file))
                say({"type": "check", "missing": missing, "silent": clients.silent()})
            elif line[0] == "report":
                with open(line[1]) as file:
                    report = clients.report(json.load(file))
                with open(line[2], "w") as file:
                    json.dump(report, file)
                say({"type": "reported"})
            elif line[0] == "quit":
                break
    finally:
        await clients.close()


def main() -> None:
    with open(sys.argv[1]) as file:
        config = json.load(file)
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
