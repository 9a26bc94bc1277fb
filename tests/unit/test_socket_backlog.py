"""A socket's backlog is bounded: a client that does not keep up is marked, and its stream can
still be ended (the plugin's end marker must not wait on a full backlog nobody reads)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from interfaces.http.controllers.live import BoundedSubscriber


def _run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``scenario`` in a loop of its own thread, whatever loop this thread may hold."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def test_a_full_backlog_marks_the_subscriber_and_still_ends() -> None:
    async def scenario() -> None:
        plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
        subscriber = BoundedSubscriber(plugin, max_backlog=3, backlog_strategy="backoff")
        assert [subscriber.put_nowait(b"%d" % n) for n in range(3)] == [True, True, True]
        assert not subscriber.overflowed
        assert subscriber.put_nowait(b"3") is False
        assert subscriber.overflowed
        await asyncio.wait_for(subscriber.put(None), timeout=1)  # does not block
        assert [event async for event in subscriber.iter_events()] == []

    _run(scenario)


def test_a_subscriber_that_keeps_up_is_not_marked() -> None:
    async def scenario() -> None:
        plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True)
        subscriber = BoundedSubscriber(plugin, max_backlog=2, backlog_strategy="backoff")
        received = []
        for n in range(5):
            assert subscriber.put_nowait(b"%d" % n)
            received.append(await subscriber._queue.get())
        await subscriber.put(None)
        assert not subscriber.overflowed
        assert received == [b"0", b"1", b"2", b"3", b"4"]

    _run(scenario)
