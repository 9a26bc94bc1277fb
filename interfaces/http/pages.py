"""The hall display, kiosk, agent console, manager dashboard and public (join, "my ticket",
booking, "my appointment", feedback) pages: plain HTML, CSS and ES modules served by the API.

The pages are not API operations, so they stay out of the OpenAPI document. Their assets are
served under ``/static/<content hash>/``: a new release gets new URLs, so the assets can be cached
for a year while the pages themselves are revalidated on every load.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from uuid import UUID

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from domain.tenancy import SLUG

STATIC_DIRECTORY = Path(__file__).with_name("static")
ASSET_SUFFIXES = {".js", ".css"}
TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}


def asset_version() -> str:
    """A short hash of every asset: it changes whenever one of them does."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIRECTORY.iterdir()):
        if path.suffix in ASSET_SUFFIXES:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@cache
def _page(name: str, static_prefix: str) -> bytes:
    template = (STATIC_DIRECTORY / f"{name}.html").read_text(encoding="utf-8")
    return template.replace("{{STATIC}}", static_prefix).encode()


def _add_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def pages_router() -> Router:
    """``GET /display/{slug}/``, ``/kiosk/{slug}/``, ``/console/{slug}/``, ``/dashboard/{slug}/``,
    the public ``/join/{slug}/{site_id}``, ``/book/{slug}/{site_id}``, ``/t/{token}``,
    ``/a/{token}`` and ``/feedback/{token}``, and their assets under ``/static``."""
    static_prefix = f"/static/{asset_version()}"

    def page(name: str):
        @get(
            f"/{name}/{{slug:str}}",
            name=f"{name}-page",
            include_in_schema=False,
            sync_to_thread=False,
        )
        def handler(slug: FromPath[str]) -> Response[bytes]:
            if not SLUG.match(slug):
                raise NotFoundException()
            html = _page(name, static_prefix)
            return Response(html, media_type="text/html", headers=PAGE_HEADERS)

        handler.__doc__ = (
            f"The {name} page (the tenant comes from the path; its device or user signs in)."
        )
        return handler

    assets = create_static_files_router(
        path=static_prefix,
        directories=[STATIC_DIRECTORY],
        name="page-assets",
        include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True),
        after_request=_add_security_headers,
    )

    @get("/join/{slug:str}/{site_id:uuid}", name="join-page", include_in_schema=False)
    async def join_page(slug: FromPath[str], site_id: FromPath[UUID]) -> Response[bytes]:
        """A site's public join page (no sign-in: the customer's own side)."""
        if not SLUG.match(slug):
            raise NotFoundException()
        return Response(_page("join", static_prefix), media_type="text/html", headers=PAGE_HEADERS)

    @get("/book/{slug:str}/{site_id:uuid}", name="booking-page", include_in_schema=False)
    async def booking_page(slug: FromPath[str], site_id: FromPath[UUID]) -> Response[bytes]:
        """A site's public booking page: service, day, slot, hold, confirm (no sign-in)."""
        if not SLUG.match(slug):
            raise NotFoundException()
        return Response(_page("book", static_prefix), media_type="text/html", headers=PAGE_HEADERS)

    @get("/a/{token:str}", name="appointment-page", include_in_schema=False)
    async def appointment_page(token: FromPath[str]) -> Response[bytes]:
        """A customer's "my appointment" page; the token in its path is the appointment's
        capability."""
        if not TOKEN.match(token):
            raise NotFoundException()
        return Response(
            _page("appointment", static_prefix), media_type="text/html", headers=PAGE_HEADERS
        )

    @get("/t/{token:str}", name="ticket-page", include_in_schema=False)
    async def ticket_page(token: FromPath[str]) -> Response[bytes]:
        """A customer's "my ticket" page; the token in its path is the ticket's capability."""
        if not TOKEN.match(token):
            raise NotFoundException()
        return Response(
            _page("ticket", static_prefix), media_type="text/html", headers=PAGE_HEADERS
        )

    @get("/feedback/{token:str}", name="feedback-page", include_in_schema=False)
    async def feedback_page(token: FromPath[str]) -> Response[bytes]:
        """A customer's feedback page for one completed visit; the token is its capability."""
        if not TOKEN.match(token):
            raise NotFoundException()
        return Response(
            _page("feedback", static_prefix), media_type="text/html", headers=PAGE_HEADERS
        )

    pages = [
        page("display"),
        page("kiosk"),
        page("console"),
        page("dashboard"),
        join_page,
        booking_page,
        ticket_page,
        appointment_page,
        feedback_page,
        assets,
    ]
    return Router(path="/", route_handlers=pages)
