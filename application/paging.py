"""Cursor pagination for list queries: an opaque cursor and a bounded page size."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.errors import InvalidInput

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class PageRequest:
    """Which page: the items after ``cursor`` (from the previous page), at most ``limit``."""

    cursor: str | None = None
    limit: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Some items and the cursor of the next page (``None`` on the last page)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(key: str) -> str:
    """An opaque cursor for the position just after the item whose sort key is ``key``."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sort key inside ``cursor``, or :class:`InvalidInput` if it is not one of ours."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not valid; pass the cursor of the previous page") from None


def paginate(items: Sequence[T], key: Callable[[T], str], request: PageRequest) -> Page[T]:
    """A page of ``items`` (already in their stable order) for ``request``.

    The cursor names the last item seen, so a page boundary does not shift when items are added.
    """
    start = 0
    if request.cursor is not None:
        after = decode_cursor(request.cursor)
        keys = [key(item) for item in items]
        if after not in keys:
            raise InvalidInput("cursor is not valid; pass the cursor of the previous page")
        start = keys.index(after) + 1
    chunk = list(items[start : start + request.limit])
    more = start + request.limit < len(items)
    return Page(chunk, encode_cursor(key(chunk[-1])) if more and chunk else None)


def map_page(page: Page[T], convert: Callable[[T], U]) -> Page[U]:
    """The same page with each item converted (a page of ids becomes a page of views), so only
    the requested page is ever loaded."""
    return Page([convert(item) for item in page.items], page.next_cursor)
