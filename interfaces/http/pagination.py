"""List endpoints: ``?cursor=&limit=`` in, Litestar's ``CursorPagination`` out.

The response's ``cursor`` is the value to send as ``?cursor=`` for the next page; it is ``null`` on
the last page. ``limit`` is bounded, so no client can ask for the whole table at once.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar.pagination import CursorPagination
from litestar.params import Parameter

from application.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest

T = TypeVar("T")

Cursor = Annotated[
    str | None,
    Parameter(query="cursor", description="`cursor` of the previous page", max_length=512),
]
Limit = Annotated[
    int,
    Parameter(query="limit", ge=1, le=MAX_PAGE_SIZE, description="Items per page"),
]


def page_request(cursor: str | None, limit: int = DEFAULT_PAGE_SIZE) -> PageRequest:
    """The application's page request from the query parameters."""
    return PageRequest(cursor=cursor, limit=limit)


def to_response(page: Page[T], limit: int) -> CursorPagination[str, T]:
    """The HTTP shape of a page."""
    return CursorPagination(items=page.items, results_per_page=limit, cursor=page.next_cursor)
