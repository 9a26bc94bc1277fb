"""List endpoints: ``?cursor=&limit=`` in, a :class:`Paginated` page out.

The response's ``cursor`` is the value to send as ``?cursor=`` for the next page; it is ``null`` on
the last page. ``limit`` is bounded, so no client can ask for the whole table at once.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from application.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest

T = TypeVar("T")

CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
"""Every cursor is unpadded URL-safe base64 (:func:`application.paging.encode_cursor`)."""

Cursor = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        description="`cursor` of the previous page (opaque: send it back as it came)",
        min_length=1,
        max_length=512,
        pattern=CURSOR_PATTERN,
    ),
]
Limit = Annotated[
    int,
    QueryParameter(name="limit", ge=1, le=MAX_PAGE_SIZE, description="Items per page"),
]


class Paginated(msgspec.Struct, Generic[T]):
    """A page of items; ``cursor`` is what to send as ``?cursor=`` for the next page, ``null`` on
    the last one. (Litestar's own ``CursorPagination`` documents the cursor as never null.)"""

    items: list[T]
    results_per_page: int
    cursor: str | None


def page_request(cursor: str | None, limit: int = DEFAULT_PAGE_SIZE) -> PageRequest:
    """The application's page request from the query parameters."""
    return PageRequest(cursor=cursor, limit=limit)


def to_response(page: Page[T], limit: int) -> Paginated[T]:
    """The HTTP shape of a page."""
    return Paginated(items=page.items, results_per_page=limit, cursor=page.next_cursor)
