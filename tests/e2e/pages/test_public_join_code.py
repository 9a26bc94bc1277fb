"""The join page's code step in headless Chromium, where the tenant requires a one-time SMS code:
the page asks for the phone, sends a code, refuses a wrong one in the customer's language and
joins with the right one; the page's texts in French."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, expect
from psycopg_pool import ConnectionPool

from application.paging import PageRequest
from domain.messages import Channel
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.postgres.database import open_pool
from tests.e2e.conftest import running_api
from tests.e2e.pages.conftest import new_page
from tests.e2e.support import ReadModels, Session, Tenant, create_tenant, login, open_floor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

TOKEN_URL = re.compile(r"/t/[A-Za-z0-9_-]+\?lang=(en|fr)$")


@pytest.fixture(scope="module")
def code_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """An API of its own: every browser is 127.0.0.1, so the public limits are raised here."""
    env = {
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS": "1000/minute",
        "SMARTQUEUE_PUBLIC_CODE_LIMIT_ADDRESS": "1000/minute",
    }
    with running_api(database_url, redis_url, e2e_home, **env) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def ledger(database_url: str) -> Iterator[PostgresLedger]:
    pool: ConnectionPool = open_pool(database_url, size=1)
    yield PostgresLedger(pool)
    pool.close()


@pytest.fixture
def join_path(
    code_api: str, database_url: str, redis_url: str, e2e_home: Path, projections: ReadModels
) -> Iterator[tuple[Session, str]]:
    """A tenant requiring codes, and its site's join page."""
    tenant: Tenant = create_tenant(database_url, e2e_home, redis_url)
    with httpx.Client(base_url=code_api, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        floor = open_floor(admin)
        saved = admin.request("PUT", "public-join-settings/", json={"join_code": "sms"})
        assert saved.status_code == 200, saved.text
        admin.settle("directory")
        yield admin, f"/join/{tenant.slug}/{floor.site['id']}"


def sent_code(ledger: PostgresLedger, admin: Session) -> str:
    """The code in the tenant's last SMS, as the ledger recorded it."""
    page = ledger.search(UUID(admin.tenant.id), PageRequest(limit=5), channel=Channel.SMS)
    body = page.items[0].body
    assert body is not None
    found = re.search(r"\b(\d{6})\b", body.text)
    assert found, body.text
    return found.group(1)


def test_the_page_sends_a_code_and_joins_with_it(
    browser: Browser, code_api: str, join_path: tuple[Session, str], ledger: PostgresLedger
) -> None:
    admin, path = join_path
    page, problems = new_page(browser, code_api)
    try:
        page.goto(f"{path}?lang=en")
        expect(page.get_by_test_id("site-name")).to_have_text("Head office")
        send = page.get_by_role("button", name="Send me a code")
        expect(send).to_be_visible()
        phone = page.get_by_label(re.compile(r"^Your mobile number \(required"))

        send.click()
        expect(page.get_by_test_id("join-error")).to_have_text(
            "Enter your mobile number first: the code is sent to it."
        )
        expect(phone).to_be_focused()
        page.get_by_role("button", name="Get my ticket").click()
        expect(page.get_by_test_id("join-error")).to_have_text(
            "Ask for a code by SMS, then enter it to take your ticket."
        )

        digits = f"12{uuid.uuid4().int % 10**6:06d}"  # 06 12: allocated (06 9x is not)
        phone.fill(f"+33 6 {digits}")
        send.click()
        expect(page.get_by_test_id("code-status")).to_have_text(
            "A code was sent by SMS. It is valid for 10 minutes."
        )
        expect(page.get_by_test_id("join-error")).to_be_empty()
        code_box = page.get_by_label("Code received by SMS (6 digits)")
        expect(code_box).to_be_focused()
        expect(page.get_by_role("button", name="Send a new code")).to_be_visible()
        code = sent_code(ledger, admin)

        code_box.fill("000000" if code != "000000" else "111111")
        page.get_by_role("button", name="Get my ticket").click()
        expect(page.get_by_test_id("join-error")).to_have_text(
            "This code is wrong or has expired. Check it, or ask for a new one."
        )

        code_box.fill(code)
        page.get_by_role("button", name="Get my ticket").click()
        page.wait_for_url(TOKEN_URL)
        expect(page.get_by_test_id("ticket-number")).to_have_text("A-001")
        assert problems.errors == [], problems.errors
    finally:
        page.context.close()


def test_the_code_step_speaks_french(
    browser: Browser, code_api: str, join_path: tuple[Session, str]
) -> None:
    _, path = join_path
    french, problems = new_page(browser, code_api, locale="fr-FR")
    try:
        french.goto(path)
        expect(french.get_by_role("button", name="Recevoir un code")).to_be_visible()
        expect(french.get_by_label("Code reçu par SMS (6 chiffres)")).to_be_visible()
        french.get_by_role("button", name="Prendre mon ticket").click()
        expect(french.get_by_test_id("join-error")).to_have_text(
            "Demandez un code par SMS, puis saisissez-le pour prendre votre ticket."
        )
        assert problems.errors == [], problems.errors
    finally:
        french.context.close()
