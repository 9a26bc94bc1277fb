"""A projection process that writes one batch's rows and then hangs before committing, so a test
can SIGKILL it mid-batch. Usage: ``python -m tests.integration.projection_victim DATABASE_URL
[follow|catch-up] [PROJECTION]``; with ``follow`` it runs as a follower holding the projection's
advisory lock. PROJECTION defaults to ``audit_log``."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from application.app import SmartQueue
from infrastructure.following.process import Follower
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.database import event_store_env
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.settings import load_settings


class Hanging:
    """The projection's own view, except that it hangs once the batch is written."""

    def __init__(self, view: Any) -> None:
        self.view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)  # append, load, fold...: whatever the view has

    def flush(self, connection: Connection) -> None:
        self.view.flush(connection)
        print("flushed", flush=True)  # the rows are in, the commit is not
        time.sleep(120)


def main(database_url: str, mode: str = "catch-up", projection: str = "audit_log") -> None:
    settings = load_settings({"DATABASE_URL": database_url})
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    model = read_models()[projection]

    def hanging_view(tables: dict[str, Any]) -> Any:
        return Hanging(model.make_view(tables))

    runner = ProjectionRunner(replace(model, make_view=hanging_view), app.recorder, app.mapper)
    engine = sqlalchemy_engine(database_url, pool_size=1)
    if mode == "follow":
        Follower(runner, engine).run(threading.Event())
    else:
        runner.catch_up(engine)


if __name__ == "__main__":
    main(*sys.argv[1:])
