"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser), one
browser for the session and a fresh context (storage, cookies) per test; helpers that register a
device over the API and open its page with the provisioning fragment."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.support import Session

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


def chromium_path() -> str:
    """``SMARTQUEUE_CHROMIUM`` or Debian's ``chromium`` (``.ci/run`` installs it when missing)."""
    path = os.environ.get("SMARTQUEUE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise RuntimeError(f"no Chromium at {path}: apt-get install chromium")
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the page tests. Package-scoped: Playwright's sync API keeps an
    event loop running in the main thread while it is open, which would break later tests that
    run their own (``asyncio.run``)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


class PageProblems:
    """Uncaught script errors and Content-Security-Policy refusals seen by a page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def page_error(self, error: Exception) -> None:
        self.errors.append(repr(error))


def new_page(
    browser: Browser, api_url: str, locale: str = "en-GB", timezone: str | None = None
) -> tuple[Page, PageProblems]:
    """A page in a fresh context (empty localStorage) with a browser language of ``locale``
    and, when given, the time zone ``timezone`` (else the machine's)."""
    context = browser.new_context(base_url=api_url, locale=locale, timezone_id=timezone)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = PageProblems()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    return page, problems


@pytest.fixture
def page(browser: Browser, api_url: str) -> Iterator[Page]:
    """A page in a fresh browser context; the test fails on a script error or a CSP refusal."""
    opened, problems = new_page(browser, api_url)
    yield opened
    opened.context.close()
    assert problems.errors == [], problems.errors


def register_device(admin: Session, site_id: str, kind: str, name: str = "Device") -> dict:
    """Register a display or kiosk over the API: ``{"device": {...}, "secret": "..."}``.

    It returns once the directory read model has caught up: the page's first read is its
    site's list of queues (ask for the ``projections`` fixture)."""
    registered = admin.ok("POST", "devices/", {"site_id": site_id, "kind": kind, "name": name}, 201)
    admin.settle("directory")
    return registered


def device_page_url(
    kind: str, slug: str, registered: dict | None, lang: str | None = "en", **query: str
) -> str:
    """The page of a device, with the provisioning fragment when ``registered`` is given and
    ``query`` (``counter="3"``) in its query string."""
    url = f"/{kind}/{slug}/"
    parameters = ({"lang": lang} if lang else {}) | query
    if parameters:
        url += f"?{urlencode(parameters)}"
    if registered:
        device_id, secret = registered["device"]["id"], registered["secret"]
        url += f"#device={quote(device_id)}&secret={quote(secret)}"
    return url
