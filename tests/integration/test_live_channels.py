"""The API's channels backend on a real Redis: sockets whose first subscriptions overlap all
get their channels' messages (redis-py's asyncio ``PubSub`` connects on the first SUBSCRIBE
without a lock; overlapping first subscriptions once left a channel on a connection nobody
read)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid

import pytest
import redis.asyncio

from interfaces.http.controllers.live import SerialPubSubBackend

pytestmark = pytest.mark.integration
CHANNELS = 4


async def channels_heard(redis_url: str) -> set[str]:
    """Subscribe to fresh channels all at once, publish on each, and collect which are heard."""
    backend = SerialPubSubBackend(redis=redis.asyncio.Redis.from_url(redis_url))
    names = {f"test-live-{uuid.uuid4().hex}" for _ in range(CHANNELS)}
    await asyncio.gather(*(backend.subscribe([name]) for name in names))
    publisher = redis.asyncio.Redis.from_url(redis_url)
    heard: set[str] = set()

    async def listen() -> None:
        async for channel, _ in backend.stream_events():
            heard.add(channel)

    listener = asyncio.create_task(listen())
    try:
        for _ in range(20):  # a message lost now and then would be published again
            for name in names - heard:
                await publisher.publish(name, b"change")
            await asyncio.sleep(0.1)
            if heard == names:
                break
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await backend.on_shutdown()
        await publisher.aclose()
    return names - heard


def test_sockets_subscribing_at_once_each_hear_their_channel(redis_url: str) -> None:
    for _ in range(5):  # the race needs overlapping first subscriptions: try a few times
        unheard: list[set[str]] = []

        def run(into: list[set[str]] = unheard) -> None:
            into.append(asyncio.run(channels_heard(redis_url)))

        # In a thread: a broken backend could spin without yielding, past any asyncio timeout.
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(30)
        assert unheard == [set()], "some channels subscribed at once were never heard"
