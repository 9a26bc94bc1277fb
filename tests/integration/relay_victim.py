"""A relay that publishes one batch, is acknowledged by the broker and then hangs before it
records its position, so a test can SIGKILL it there. Usage: ``python -m
tests.integration.relay_victim DATABASE_URL BOOTSTRAP``."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from typing import Any

from application.app import SmartQueue
from infrastructure.kafka.relay import KafkaRelay
from infrastructure.postgres.database import event_store_env
from infrastructure.postgres.single_active import SingleActive
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.settings import load_settings


class HangingRelay(KafkaRelay):
    """Hangs once the broker has acknowledged its first batch."""

    def _producer(self) -> Any:
        producer = super()._producer()
        flush = producer.flush

        def flush_then_hang(*args: Any, **kwargs: Any) -> None:
            flush(*args, **kwargs)
            print("acknowledged", flush=True)  # on the broker, not yet recorded
            time.sleep(120)

        producer.flush = flush_then_hang
        return producer


def main(database_url: str, bootstrap: str) -> None:
    settings = load_settings({"DATABASE_URL": database_url})
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    relay = HangingRelay(
        app.recorder, app.mapper, replace(settings.kafka, bootstrap_servers=bootstrap)
    )
    engine = sqlalchemy_engine(database_url, pool_size=1)
    SingleActive(relay.name, engine, relay.follow).run(threading.Event())


if __name__ == "__main__":
    main(*sys.argv[1:])
