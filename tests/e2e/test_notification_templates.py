"""A tenant's notification templates and settings over HTTP: saved once checked, refusals that
name what is wrong, previews with SMS counts, back to the built-in on delete, tenant isolation
and the admin-only scope."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.support import Session, Tenant, assert_problem, login

pytestmark = pytest.mark.e2e

TEMPLATES = "notification-templates/"
SETTINGS = "notification-settings/"


def _create(admin: Session, **fields) -> dict:
    body = {"kind": "called", "channel": "sms", "language": "en", **fields}
    return admin.ok("POST", TEMPLATES, body, status=201)


def test_a_template_is_saved_read_changed_and_deleted_back_to_the_built_in(
    admin: Session,
) -> None:
    created = _create(admin, text="{number}: counter {counter} now, at {site}.")

    assert created["kind"] == "called"
    assert created["channel"] == "sms"
    assert created["language"] == "en"
    assert created["text"] == "{number}: counter {counter} now, at {site}."
    path = f"{TEMPLATES}{created['id']}/"
    assert admin.ok("GET", path) == created
    listed = admin.list(TEMPLATES)
    assert [t["id"] for t in listed] == [created["id"]]
    assert admin.ok("GET", f"{TEMPLATES}?channel=email")["items"] == []
    again = admin.post(
        TEMPLATES, {"kind": "called", "channel": "sms", "language": "en", "text": "x"}
    )
    assert_problem(again, 409, "template_exists")

    changed = admin.ok("PATCH", path, {"text": "{number}, go to counter {counter}."})
    assert changed["text"] == "{number}, go to counter {counter}."
    assert admin.ok("GET", path)["text"] == changed["text"]

    assert admin.request("DELETE", path).status_code == 204
    assert_problem(admin.get(path), 404)
    assert admin.list(TEMPLATES) == []


@pytest.mark.parametrize(
    ("text", "code", "named"),
    [
        ("{number} at {counter}, {colour}", "unknown_template_variable", "{colour}"),
        ("Hello\n{% if number %}\n{number}", "template_syntax", "line 3"),
        ("{{ number.__class__ }}", "template_syntax", "attribute access"),
        ("{% for x in number %}{x}{% endfor %}", "template_syntax", "loop"),
        ("{{ site|attr('x') }}", "template_syntax", "filter 'attr'"),
    ],
)
def test_a_bad_template_is_refused_with_422_naming_what_is_wrong(
    admin: Session, text: str, code: str, named: str
) -> None:
    body = assert_problem(
        admin.post(TEMPLATES, {"kind": "called", "channel": "sms", "language": "fr", "text": text}),
        422,
        code,
    )

    assert named in body["detail"]
    assert admin.list(TEMPLATES) == []


def test_unknown_kinds_channels_languages_and_parts_are_refused_with_422(admin: Session) -> None:
    base = {"kind": "called", "channel": "sms", "language": "fr", "text": "{number}"}
    for field, value, named in (
        ("kind", "birthday", "birthday"),
        ("channel", "pigeon", "pigeon"),
        ("language", "de", "de"),
    ):
        body = assert_problem(admin.post(TEMPLATES, {**base, field: value}), 422)
        assert named in body["detail"]
    body = assert_problem(admin.post(TEMPLATES, {**base, "subject": "Hi {number}"}), 422)
    assert "subject" in body["detail"]
    body = assert_problem(admin.post(TEMPLATES, {**base, "channel": "email"}), 422)
    assert "subject" in body["detail"]
    created = _create(admin, text="{number}")
    bad = admin.patch(f"{TEMPLATES}{created['id']}/", {"text": "{number} {eta_minutes}"})
    assert "{eta_minutes}" in assert_problem(bad, 422, "unknown_template_variable")["detail"]
    assert admin.ok("GET", f"{TEMPLATES}{created['id']}/")["text"] == "{number}"


def test_an_sms_preview_counts_segments_and_switches_to_ucs2_for_accents(admin: Session) -> None:
    plain = _create(admin, text="{number}: counter {counter}. " + "x" * 150)
    accented = _create(admin, language="fr", text="{number} : guichet {counter}, ça y est.")

    shown = admin.ok("POST", f"{TEMPLATES}{plain['id']}/preview/", {"values": {"counter": "7"}})
    assert shown["text"].startswith("A-012: counter 7. ")
    assert shown["sms"]["encoding"] == "GSM-7"
    assert shown["sms"]["characters"] == len(shown["text"])
    assert shown["sms"]["segments"] == 2  # over 160 septets
    french = admin.ok("POST", f"{TEMPLATES}{accented['id']}/preview/")
    assert french["text"] == "A-012 : guichet 3, ça y est."
    assert french["sms"] == {
        "encoding": "UCS-2",
        "segments": 1,
        "characters": len(french["text"]),
        "units": len(french["text"]),
        "remaining": 70 - len(french["text"]),
    }


def test_an_email_preview_has_subject_text_and_escaped_html_and_no_sms_count(
    admin: Session,
) -> None:
    created = _create(
        admin,
        channel="email",
        kind="ticket_issued",
        subject="Ticket {number}",
        text="You are number {position} at {queue}.",
        html="<p>You are number <b>{position}</b> at {queue}.</p>",
    )

    shown = admin.ok(
        "POST", f"{TEMPLATES}{created['id']}/preview/", {"values": {"queue": "<Desk & Co>"}}
    )

    assert shown["subject"] == "Ticket A-012"
    assert shown["text"] == "You are number 3 at <Desk & Co>."
    assert shown["html"] == "<p>You are number <b>3</b> at &lt;Desk &amp; Co&gt;.</p>"
    assert shown["sms"] is None


def test_settings_default_to_every_kind_on_and_are_replaced_by_put(admin: Session) -> None:
    defaults = admin.ok("GET", SETTINGS)
    assert set(defaults["kinds"].values()) == {True}
    assert "turn_near" in defaults["kinds"]
    assert defaults["turn_near_position"] == 3
    assert defaults["turn_near_eta_minutes"] is None

    saved = admin.ok(
        "PUT",
        SETTINGS,
        {"kinds": {"ticket_issued": False}, "turn_near_position": None, "turn_near_eta_minutes": 5},
    )

    assert saved["kinds"]["ticket_issued"] is False
    assert saved["kinds"]["called"] is True
    assert saved["turn_near_position"] is None
    assert saved["turn_near_eta_minutes"] == 5
    assert admin.ok("GET", SETTINGS) == saved
    unknown = admin.request(
        "PUT",
        SETTINGS,
        json={"kinds": {"fax": True}, "turn_near_position": 3, "turn_near_eta_minutes": None},
    )
    assert "fax" in assert_problem(unknown, 422)["detail"]
    zero = admin.request(
        "PUT", SETTINGS, json={"turn_near_position": 0, "turn_near_eta_minutes": None}
    )
    assert "turn_near_position" in assert_problem(zero, 422)["detail"]
    assert admin.ok("GET", SETTINGS) == saved


def test_another_tenants_templates_and_settings_are_out_of_reach(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    theirs = _create(admin, text="{number} at {counter}")
    admin.ok("PUT", SETTINGS, {"turn_near_position": 2, "turn_near_eta_minutes": None})
    tenant_b = new_tenant()
    intruder = login(http, tenant_b, tenant_b.admin_email)
    path = f"{TEMPLATES}{theirs['id']}/"

    assert_problem(intruder.get(path), 404)
    assert_problem(intruder.patch(path, {"text": "{number}"}), 404)
    assert_problem(intruder.request("DELETE", path), 404)
    assert_problem(intruder.post(f"{path}preview/"), 404)
    assert intruder.list(TEMPLATES) == []
    assert intruder.ok("GET", SETTINGS)["turn_near_position"] == 3
    # The same kind, channel and language is free in the other tenant, under another id.
    mine = _create(intruder, text="{number}!")
    assert mine["id"] != theirs["id"]
    assert_problem(http.get(admin.path(path), headers=intruder.headers), 404)
    assert admin.ok("GET", path)["text"] == "{number} at {counter}"
    assert_problem(admin.get(f"{TEMPLATES}{uuid.uuid4()}/"), 404)


def test_only_holders_of_notifications_manage_reach_templates_and_settings(
    admin: Session,
) -> None:
    manager = admin.add_agent(role="manager")

    body = assert_problem(manager.get(TEMPLATES), 403, "forbidden")
    assert "notifications:manage" in body["detail"]
    assert_problem(manager.request("PUT", SETTINGS, json={}), 403)


def test_appointment_reminders_default_to_a_day_and_an_hour_and_are_replaced_by_put(
    admin: Session,
) -> None:
    defaults = admin.ok("GET", SETTINGS)
    assert defaults["appointment_reminder_minutes"] == [1440, 60]
    assert defaults["kinds"]["appointment_reminder"] is True
    assert defaults["kinds"]["appointment_check_in_open"] is True

    saved = admin.ok(
        "PUT",
        SETTINGS,
        {
            "kinds": {"appointment_check_in_open": False},
            "turn_near_position": 3,
            "turn_near_eta_minutes": None,
            "appointment_reminder_minutes": [30, 2880],
        },
    )

    assert saved["appointment_reminder_minutes"] == [2880, 30]
    assert saved["kinds"]["appointment_check_in_open"] is False
    assert admin.ok("GET", SETTINGS) == saved
    none = {"turn_near_position": 3, "turn_near_eta_minutes": None}
    assert (
        admin.ok("PUT", SETTINGS, {**none, "appointment_reminder_minutes": []})[
            "appointment_reminder_minutes"
        ]
        == []
    )
    bad = admin.request("PUT", SETTINGS, json={**none, "appointment_reminder_minutes": [0]})
    assert "appointment_reminder_minutes" in assert_problem(bad, 422)["detail"]


def test_an_appointment_template_previews_with_the_service_date_time_code_and_link(
    admin: Session,
) -> None:
    created = _create(
        admin,
        kind="appointment_reminder",
        language="fr",
        text="{service} le {date} à {time}, code {code} : {link}",
    )

    shown = admin.ok("POST", f"{TEMPLATES}{created['id']}/preview/")

    assert shown["text"] == (
        "Passeports le lundi 7 décembre à 14:30, code PAS-K7QMX : https://smartqueue.example/a/exemple"
    )
    refused = admin.post(
        TEMPLATES,
        {"kind": "appointment_confirmed", "channel": "sms", "language": "en", "text": "{number}"},
    )
    assert "{number}" in assert_problem(refused, 422, "unknown_template_variable")["detail"]
