"""A projection process that writes one batch's rows and then hangs before committing, so a test
can SIGKILL it mid-batch. Usage: ``python -m tests.integration.projection_victim DATABASE_URL
[follow]``; with ``follow`` it runs as a follower holding the projection's advisory lock."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from application.app import SmartQueue
from infrastructure.database import event_store_env
from infrastructure.projection_process import Follower
from infrastructure.projection_runner import ProjectionRunner, read_models
from infrastructure.settings import load_settings
from infrastructure.sql import sqlalchemy_engine


def main(database_url: str, mode: str = "catch-up") -> None:
    settings = load_settings({"DATABASE_URL": database_url})
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    model = read_models()["audit_log"]

    def hanging_view(tables: dict[str, Any]) -> Any:
        view = model.make_view(tables)

        class Hanging:
            def append(self, entry: Any) -> None:
                view.append(entry)

            def flush(self, connection: Connection) -> None:
                view.flush(connection)
                print("flushed", flush=True)  # the rows are in, the commit is not
                time.sleep(120)

        return Hanging()

    runner = ProjectionRunner(replace(model, make_view=hanging_view), app.recorder, app.mapper)
    engine = sqlalchemy_engine(database_url, pool_size=1)
    if mode == "follow":
        Follower(runner, engine).run(threading.Event())
    else:
        runner.catch_up(engine)


if __name__ == "__main__":
    main(*sys.argv[1:])
