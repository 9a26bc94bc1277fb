"""Helpers for agent board tests: run its projection and read its tables as the owner."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from infrastructure.container import Container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.tables import agent_board, agent_board_tickets, queue_eta
from tests.integration.roles_support import every_tenant


def board_runner(container: Container, **options: Any) -> ProjectionRunner:
    """A runner of the agent board projection over the container's application."""
    return ProjectionRunner(
        read_models()["agent_board"], container.app.recorder, container.app.mapper, **options
    )


def project_board(container: Container, **options: Any) -> None:
    """Bring the agent board up to the end of the log."""
    board_runner(container, **options).catch_up(container.read_engine)


def board_tables(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of the board's tables, in key order."""
    with every_tenant(engine) as connection:
        return {
            table.name: [
                dict(row)
                for row in connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in (agent_board, agent_board_tickets, queue_eta)
        }
