"""Read your writes over HTTP: the ``X-Log-Position`` a command answers with, and the
``min_position`` a query of a read model may ask for (see :mod:`application.consistency`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response
from litestar.params import QueryParameter

from application.consistency import Consistency, current_positions

WRITTEN_HEADER = "X-Log-Position"
READ_HEADER = "X-Read-Position"
MAX_POSITION = 2**63 - 1  # PostgreSQL bigint, the notification id's type

MinPosition = Annotated[
    int | None,
    QueryParameter(
        name="min_position",
        ge=1,
        le=MAX_POSITION,
        description=(
            "Read your writes: wait (a few seconds at most) until the read model has applied "
            f"this log position, as answered by a command in `{WRITTEN_HEADER}`; `503 "
            "read_model_behind` if it does not get there in time"
        ),
    ),
]


def await_read_models(
    consistency: Consistency, names: tuple[str, ...], min_position: int | None
) -> int:
    """Wait until the read models ``names`` reach ``min_position`` (if given); their position."""
    return consistency.await_position(names, min_position)


def add_position_headers(response: Response) -> Response:
    """``after_request`` hook: tell the client the log position its command wrote, or the one
    the read models it queried stood at. It runs inside the route's middleware, so a stored
    idempotent response replays with the same ``X-Log-Position``."""
    positions = current_positions()
    if positions is not None:
        if positions.written is not None:
            response.headers[WRITTEN_HEADER] = str(positions.written)
        if positions.read is not None:
            response.headers[READ_HEADER] = str(positions.read)
    return response
