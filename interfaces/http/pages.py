"""The hall display and kiosk pages: plain HTML, CSS and ES modules served by the API.

The pages are not API operations, so they stay out of the OpenAPI document. Their assets are
served under ``/static/<content hash>/``: a new release gets new URLs, so the assets can be cached
for a year while the pages themselves are revalidated on every load.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from domain.tenancy import SLUG

STATIC_DIRECTORY = Path(__file__).with_name("static")
ASSET_SUFFIXES = {".js", ".css"}

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
    """``GET /display/{slug}/`` and ``GET /kiosk/{slug}/``, and their assets under ``/static``."""
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

        handler.__doc__ = f"The {name} page (the tenant comes from the path, the device signs in)."
        return handler

    assets = create_static_files_router(
        path=static_prefix,
        directories=[STATIC_DIRECTORY],
        name="page-assets",
        include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=365 * 24 * 3600, immutable=True),
        after_request=_add_security_headers,
    )
    return Router(path="/", route_handlers=[page("display"), page("kiosk"), assets])
