"""The broker stopped for 30 s under command load: commands keep succeeding (the write path never
touches Kafka), the relay records nothing while it cannot publish, and once a broker is back on
the same address it receives every event the old one had not acknowledged."""

from __future__ import annotations

import time

import pytest

from infrastructure.kafka.broker import EmbeddedBroker
from infrastructure.kafka.relay import relay_lag
from tests.integration.conftest import on_own_database
from tests.integration.kafka_support import (
    RelayProcess,
    command_load,
    consume,
    log_positions_between,
    wait_relayed,
)

pytestmark = pytest.mark.integration

# Relays of their own: not the session database's (the e2e live fan-out runs one there).
container, world = on_own_database()

OUTAGE_SECONDS = 30.0


def test_a_broker_outage_loses_no_event_and_no_command(container, world, tmp_path):
    engine = container.read_engine
    recorder = container.app.recorder
    broker = EmbeddedBroker(tmp_path / "kafka").start()
    relay = RelayProcess(
        container.database_url,
        broker.bootstrap_servers,
        tmp_path,
        SMARTQUEUE_RELAY_BACKOFF_SECONDS="0.2",
    )
    try:
        with command_load(world, rate=20) as load:
            assert wait_relayed(engine, container, recorder.max_notification_id() or 0, 60)
            time.sleep(1.0)
            broker.stop()
            stopped_at = time.monotonic()
            time.sleep(2.0)  # acknowledgements already received are recorded by now
            acknowledged = relay_lag(engine, recorder).position
            succeeded_before = load.succeeded
            time.sleep(OUTAGE_SECONDS - (time.monotonic() - stopped_at))

            during = relay_lag(engine, recorder)
            assert during.position == acknowledged  # nothing recorded that no broker has
            assert during.behind > 0
            assert load.succeeded - succeeded_before >= 20  # commands went on meanwhile
            assert not load.failures

            broker = EmbeddedBroker(tmp_path / "kafka", port=broker.port).start()
            time.sleep(2.0)
        end = recorder.max_notification_id() or 0
        assert wait_relayed(engine, container, end, timeout=120)
        assert not load.failures

        # The new broker starts empty (Tansu keeps messages in memory), so it must hold every
        # event the old one had not acknowledged: those of the outage and after.
        expected = log_positions_between(container, acknowledged, end)
        assert len(expected) > 100
        received = consume(broker.bootstrap_servers, expected)
        assert expected <= {int(message.headers["log_position"]) for message in received}
    finally:
        relay.stop()
        broker.stop()
