"""Query parameters that name a moment (``since``, ``until``): ISO 8601 text, parsed here.

Times are taken as text and parsed by :func:`aware`: Litestar would also accept a bare number as
a timestamp, which the document (format date-time) does not allow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar.params import QueryParameter

from domain.errors import InvalidInput

ISO_MOMENT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"


def moment_parameter(name: str, description: str) -> Any:
    """The annotation of an optional ISO 8601 query parameter ``name``."""
    # format: date-time tells schema-driven clients which strings name a real moment; the
    # pattern (enforced) also lets through a bare date or a time without offset (taken as UTC).
    return Annotated[
        str | None,
        QueryParameter(name=name, pattern=ISO_MOMENT, format="date-time", description=description),
    ]


def aware(text: str | None, name: str) -> datetime | None:
    """The moment ``text`` names (UTC if it gives no offset), or :class:`InvalidInput`."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 time, like 2026-11-27T09:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
