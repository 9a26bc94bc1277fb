"""The projections role for the lag benchmark: ``start_followers`` in a process of its own, as
``smartqueue projections`` runs it, with the wake-up mode chosen on the command line.

    python -m bench.followers DATABASE_URL --wake notify|poll
"""

from __future__ import annotations

import argparse
import signal
import threading

from bench.history import settings_for
from infrastructure.container import build_container
from infrastructure.following.process import start_followers
from infrastructure.following.runner import read_models
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.roles.supervisor import Supervisor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--wake", choices=("notify", "poll"), default="notify")
    options = parser.parse_args()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    container = build_container(settings_for(options.database_url))
    engine = sqlalchemy_engine(container.database_url, pool_size=len(read_models()) + 1)
    try:
        app = container.app
        supervisor = Supervisor(stop)
        start_followers(
            engine, app.recorder, app.mapper, supervisor, listen=options.wake == "notify"
        )
        stop.wait()
        supervisor.join(10)
    finally:
        engine.dispose()
        container.close()


if __name__ == "__main__":
    main()
