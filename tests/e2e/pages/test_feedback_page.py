"""The feedback page in headless Chromium against a real ``smartqueue api``: from the link of a
completed visit, a customer gives CSAT, NPS, a tag and a comment in French, once; the page then
thanks them, also when opened again; a forged link says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import API, Session, open_floor
from tests.e2e.test_feedback import feedback_token, served

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def test_a_customer_gives_feedback_from_the_link_once(page: Page, admin: Session, e2e_home: Path):
    floor = open_floor(admin)
    ticket = served(admin, floor.queue["id"])
    token = feedback_token(e2e_home, admin.tenant.id, ticket["id"])

    page.goto(f"/feedback/{token}?lang=fr")
    expect(page.get_by_test_id("feedback-visit")).to_contain_text(ticket["number"])
    expect(page.get_by_test_id("feedback-visit")).to_contain_text(floor.site["name"])
    page.get_by_role("button", name="Envoyer mon avis").click()
    expect(page.get_by_test_id("feedback-error")).to_have_text(
        "Choisissez d'abord une note de satisfaction ou de recommandation."
    )
    page.get_by_role("group", name=re.compile("satisfait")).get_by_label("4", exact=True).check()
    page.get_by_role("group", name=re.compile("recommanderiez")).get_by_label(
        "9", exact=True
    ).check()
    page.get_by_label("Personnel").check()
    page.get_by_label("Un commentaire (facultatif)").fill("Accueil très aimable")
    page.get_by_role("button", name="Envoyer mon avis").click()

    expect(page.get_by_test_id("feedback-done")).to_have_text("Merci ! Votre avis a bien été reçu.")
    expect(page.get_by_role("button", name="Envoyer mon avis")).to_be_hidden()
    answer = admin.client.get(f"{API}/public/feedback/{token}/").json()
    assert answer["given"] is True

    page.goto(f"/feedback/{token}?lang=en")
    expect(page.get_by_test_id("feedback-done")).to_have_text(
        "Thank you! Your opinion was received."
    )
    expect(page.get_by_role("button", name="Send my opinion")).to_be_hidden()


def test_a_forged_feedback_link_says_it_is_not_valid(page: Page, admin: Session):
    page.goto("/feedback/not-a-real-token?lang=en")

    expect(page.get_by_test_id("feedback-error")).to_have_text(
        "This feedback link is not valid or has expired."
    )
    expect(page.get_by_role("button", name="Send my opinion")).to_be_hidden()
