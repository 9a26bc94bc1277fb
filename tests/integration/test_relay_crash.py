"""The relay SIGKILLed at random points, five times, while 10,000 events are written: a consumer
sees every event at least once, exactly once after de-duplication by event id, and no
aggregate's events ever go backwards."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

from infrastructure.kafka.relay import relay_lag
from tests.integration.conftest import on_own_broker, on_own_database
from tests.integration.kafka_support import (
    RelayProcess,
    consume,
    log_positions_between,
    recall_stream,
    wait_relayed,
)

pytestmark = pytest.mark.integration

# Relays of their own: not the session database's (the e2e live fan-out runs one there).
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

EVENTS = 10_000
KILLS = 5


def test_a_relay_killed_five_times_loses_nothing_and_never_reorders_an_aggregate(
    container, world, kafka_bootstrap, tmp_path
):
    engine = container.read_engine
    recorder = container.app.recorder
    start = recorder.max_notification_id() or 0
    spawn = lambda: RelayProcess(  # noqa: E731
        container.database_url, kafka_bootstrap, tmp_path, SMARTQUEUE_RELAY_BATCH_SIZE="200"
    )
    rng = random.Random()
    killed_mid_batch = 0
    writer = threading.Thread(target=recall_stream, args=(world, EVENTS, 5000.0), daemon=True)
    writer.start()
    try:
        active = spawn()
        assert active.wait_active(30)
        for _ in range(KILLS):
            standby = spawn()  # waits on the lock: it takes over when the active one dies
            time.sleep(0.3)
            assert not standby.active()
            before = relay_lag(engine, recorder).position
            time.sleep(rng.uniform(0.05, 1.0))
            active.kill()
            killed_mid_batch += relay_lag(engine, recorder).position < (
                recorder.max_notification_id() or 0
            )
            # Generous: the standby may still be starting Python on a loaded machine.
            assert standby.wait_active(60), "the standby did not take over"
            assert relay_lag(engine, recorder).position >= before
            active = standby
        writer.join(300)
        assert not writer.is_alive()
    except BaseException:
        active.kill()
        raise
    end = recorder.max_notification_id() or 0
    try:
        assert wait_relayed(engine, container, end, timeout=120)
    finally:
        active.stop()
    assert end - start >= EVENTS
    assert killed_mid_batch >= 1  # the kills landed while there was something to publish

    expected = log_positions_between(container, start, end)
    received = [
        message
        for message in consume(kafka_bootstrap, expected)
        if start < int(message.headers["log_position"]) <= end
    ]

    # At least once: every event of the log was published.
    by_id: dict[str, bytes] = {}
    for message in received:
        event_id = message.headers["event_id"]
        # A re-sent event is the same message, so de-duplication by id loses nothing.
        assert by_id.setdefault(event_id, message.value) == message.value
    seen = {int(message.headers["log_position"]) for message in received}
    assert seen == expected
    # Exactly once after de-duplication.
    assert len(by_id) == len(expected)

    # Per key, de-duplicated versions only ever go forward, without holes.
    versions: dict[str, list[int]] = defaultdict(list)
    first_seen: set[str] = set()
    for message in received:
        event_id = message.headers["event_id"]
        if event_id in first_seen:
            continue
        first_seen.add(event_id)
        envelope = message.envelope
        assert message.key == envelope["aggregate_id"]
        versions[message.key].append(envelope["aggregate_version"])
    for key, sequence in versions.items():
        assert sequence == sorted(sequence), f"aggregate {key} went backwards: {sequence}"
        assert sequence == list(range(sequence[0], sequence[0] + len(sequence))), key
    duplicates = len(received) - len(by_id)
    print(f"{len(received)} messages, {len(by_id)} events, {duplicates} re-sent after kills")


def test_a_relay_killed_after_the_broker_acknowledged_re_sends_that_batch(
    container, world, kafka_bootstrap, tmp_path
):
    engine = container.read_engine
    recorder = container.app.recorder
    spawn = lambda: RelayProcess(container.database_url, kafka_bootstrap, tmp_path)  # noqa: E731
    relay = spawn()
    assert wait_relayed(engine, container, recorder.max_notification_id() or 0, timeout=30)
    relay.stop()
    before = relay_lag(engine, recorder).position
    for _ in range(3):
        container.tickets.issue_ticket(world.context, world.queue_id)
    end = recorder.max_notification_id() or 0

    victim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.relay_victim",
            container.database_url,
            kafka_bootstrap,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert victim.stdout is not None
        assert any(line.strip() == "acknowledged" for line in iter(victim.stdout.readline, ""))
    finally:
        victim.kill()
        victim.wait(10)
    assert relay_lag(engine, recorder).position == before  # published, not recorded

    relay = spawn()
    try:
        assert wait_relayed(engine, container, end, timeout=30)
    finally:
        relay.stop()
    expected = log_positions_between(container, before, end)
    received = [
        message
        for message in consume(kafka_bootstrap, expected)
        if before < int(message.headers["log_position"]) <= end
    ]
    # Every event of the batch twice (sent, then re-sent), once after de-duplication.
    ids = [message.headers["event_id"] for message in received]
    assert len(ids) == 2 * len(expected)
    assert len(set(ids)) == len(expected)
