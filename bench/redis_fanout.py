"""Baseline of the WebSocket fan-out: raw Redis PUBLISH to as many pub/sub subscribers, all in
one asyncio process (``redis.asyncio``, one connection per subscriber), at the same rate, with a
message the size of a change. Latency = arrival at a subscriber - the moment PUBLISH was called.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from bench.environment import warn
from bench.fanout_load import Command, Run

PADDING = "x" * 300  # a change message is ~300-500 bytes of JSON


async def _subscribe(
    client: aioredis.Redis, channel: str, arrivals: dict[str, float], ready: asyncio.Event
) -> None:
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)
    ready.set()
    try:
        async for message in pubsub.listen():
            if message["type"] == "message":
                arrived = time.monotonic()
                arrivals.setdefault(json.loads(message["data"])["key"], arrived)
    finally:
        await pubsub.aclose()


async def _publish(
    client: aioredis.Redis, channels: Sequence[str], run: int, rate: float, seconds: float
) -> list[Command]:
    sent = []
    start = time.monotonic() + 0.05
    for number in range(int(rate * seconds)):
        delay = start + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        key = f"{run}-{number}"
        channel = channels[number % len(channels)]
        sent_at = time.monotonic()
        await client.publish(channel, json.dumps({"key": key, "padding": PADDING}))
        sent.append(Command(key, "sent", channel, sent_at))
    return sent


async def redis_baseline(
    url: str, subscribers: int, channels: int, rate: float, seconds: float, runs: int
) -> list[Run]:
    """``runs`` runs of publishing at ``rate`` to ``subscribers`` spread over ``channels``."""
    names = [f"bench:fanout:{n}" for n in range(channels)]
    pool = aioredis.ConnectionPool.from_url(url, max_connections=subscribers + 8)
    client = aioredis.Redis(connection_pool=pool)
    arrivals: list[dict[str, float]] = [{} for _ in range(subscribers)]
    channel_of = [names[index % channels] for index in range(subscribers)]
    events = [asyncio.Event() for _ in range(subscribers)]
    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(_subscribe(client, channel_of[i], arrivals[i], events[i]))
        for i in range(subscribers)
    ]
    try:
        await asyncio.gather(*(event.wait() for event in events))
        results = []
        for run in range(-1, runs):  # run -1 warms up
            sent = await _publish(client, names, run, rate, 2.0 if run < 0 else seconds)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _all_arrived(sent, arrivals, channel_of):
                await asyncio.sleep(0.05)
            if run >= 0:
                results.append(_figures(sent, arrivals, channel_of))
                warn(f"  raw Redis run {run + 1}: p50 {results[-1].p50:.1f} ms")
        return results
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()
        await pool.disconnect()


def _all_arrived(
    sent: Sequence[Command], arrivals: Sequence[dict[str, float]], channel_of: Sequence[str]
) -> bool:
    return all(
        command.ticket_id in arrivals[index]
        for index, channel in enumerate(channel_of)
        for command in sent
        if command.queue_id == channel
    )


def _figures(
    sent: Sequence[Command], arrivals: Sequence[dict[str, float]], channel_of: Sequence[str]
) -> Run:
    values, missed = [], 0
    for index, channel in enumerate(channel_of):
        for command in sent:
            if command.queue_id != channel:
                continue
            arrived = arrivals[index].get(command.ticket_id)
            if arrived is None:
                missed += 1
            else:
                values.append(arrived - command.returned_at)
    return Run(values, missed)
