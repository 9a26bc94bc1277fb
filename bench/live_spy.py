"""One more subscriber on the site's live channels, to split the WebSocket latency in two legs.

The display gateway publishes each change on a queue's Redis channel; every API process forwards
it to its sockets. This subscriber (a thread of the benchmark process, ``redis-py``) notes when
each change reached Redis subscribers, so a command's latency splits into *command return to
publication* (relay, Kafka, gateway, read models) and *publication to client* (API process,
WebSocket, client). Its clock is the clients' (``time.monotonic()``); it shares this process
with the HTTP command lanes, which may delay its notes by a little.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from uuid import UUID

import redis

from bench.fanout_load import Command, first_showing
from infrastructure.redis.channels import queue_channel


class PublishSpy:
    """Subscribed to the queue channels of ``queue_ids`` until closed."""

    def __init__(self, redis_url: str, tenant_id: UUID, queue_ids: Sequence[UUID]) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(*(queue_channel(tenant_id, queue_id) for queue_id in queue_ids))
        self.seen: dict[str, dict[str, float]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="publish-spy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message is None or message["type"] != "message":
                continue
            arrived = time.monotonic()
            ticket = json.loads(message["data"]).get("ticket")
            if ticket:
                self.seen.setdefault(ticket["id"], {}).setdefault(ticket["status"], arrived)

    def published_at(self, command: Command) -> float | None:
        """When the change showing the command's effect was published (seen here)."""
        return first_showing(self.seen.get(command.ticket_id), command.status)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.pubsub.close()
        self.client.close()
