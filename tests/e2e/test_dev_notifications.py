"""``smartqueue dev`` shows a newcomer the notifications: its notifier and delivery jobs send a
called ticket's customer an email that its local mail catcher (a real SMTP server) writes under
``$SMARTQUEUE_HOME/mail/``, and ``smartqueue mail`` prints it. Staff read the delivery ledger
(``GET notifications/``) and send a ticket's customer a free message, which arrives once."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port, _stop
from tests.e2e.support import (
    Floor,
    Session,
    Tenant,
    assert_problem,
    create_tenant,
    login,
    open_floor,
    process_env,
    relay_published_so_far,
    smartqueue_executable,
)
from tests.e2e.test_check_in import slot_in
from tests.e2e.test_dev_ready import _wait_for_announcement

pytestmark = pytest.mark.e2e


@dataclass
class DevStack:
    """A running ``smartqueue dev`` and a tenant's admin and agent signed in to it."""

    env: dict[str, str]
    mail: Path
    admin: Session
    agent: Session
    floor: Floor
    announcement: str


@pytest.fixture(scope="module")
def dev(
    api_url: str, database_url: str, redis_url: str, kafka_bootstrap: str, e2e_home: Path
) -> Iterator[DevStack]:
    tenant: Tenant = create_tenant(database_url, e2e_home, redis_url)
    admin = login(httpx.Client(base_url=api_url, timeout=30), tenant, tenant.admin_email)
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    relay_published_so_far(database_url)  # dev relays what happens from here on
    port = _free_port()
    stdout, stderr = e2e_home / f"dev-mail-{port}.out", e2e_home / f"dev-mail-{port}.err"
    env = {
        **process_env(database_url, e2e_home, redis_url),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_GATEWAY_GROUP": f"e2e-dev-mail-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_NOTIFIER_GROUP": f"e2e-dev-notifier-{uuid.uuid4().hex[:8]}",
    }
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [smartqueue_executable(), "dev", "--no-demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=err,
        )
    try:
        announcement = _wait_for_announcement(process, stdout, stderr)
        base_url = f"http://127.0.0.1:{port}"
        yield DevStack(
            env=env,
            mail=e2e_home / "mail",
            admin=Session(
                httpx.Client(base_url=base_url, timeout=30), tenant, admin.token, admin.user
            ),
            agent=Session(
                httpx.Client(base_url=base_url, timeout=30), tenant, agent.token, agent.user
            ),
            floor=floor,
            announcement=announcement,
        )
    finally:
        _stop(process)


def caught_for(mail: Path, address: str) -> list[EmailMessage]:
    """The caught messages to ``address``, oldest first."""
    found = []
    for path in sorted(mail.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            found.append(message)
    return found  # type: ignore[return-value]


def wait_for(check: Callable[[], list[EmailMessage]], timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("no mail caught in time")


def customer_with_email(admin: Session) -> tuple[str, str]:
    """A new customer who chose email, in English: their id and address."""
    email = f"customer-{uuid.uuid4().hex[:10]}@example.com"
    body = {"name": "Ada", "email": email, "preferences": {"channels": ["email"]}}
    customer = admin.ok("POST", "customers/", body, status=201)
    return customer["id"], email


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content().replace("\r\n", "\n")  # type: ignore[union-attr]


def test_dev_catches_the_email_telling_a_called_tickets_customer_where_to_go(dev: DevStack):
    assert "Mail to customers is caught on smtp://127.0.0.1:" in dev.announcement
    customer_id, email = customer_with_email(dev.admin)
    ticket = dev.admin.issue(dev.floor.queue["id"], customer_id=customer_id)
    dev.agent.set_status("available", counter="7")
    called = dev.agent.post("agents/call-next/", {"queue_id": dev.floor.queue["id"]})
    assert called.status_code == 200, called.text
    assert called.json()["id"] == ticket["id"]

    def told_to_go() -> list[EmailMessage]:
        return [m for m in caught_for(dev.mail, email) if "counter 7" in m["Subject"]]

    (message,) = wait_for(told_to_go)
    assert message["Subject"] == f"{ticket['number']}: it's your turn, counter 7"
    assert "Please go to counter 7" in text_of(message)
    # The message links to the customer's own "my ticket" page, which opens this ticket only.
    links = re.findall(r"https?://\S+/t/[A-Za-z0-9_-]+", text_of(message))
    assert len(links) == 1, text_of(message)  # the whole text when it fails (seen once under load)
    (link,) = links
    token = link.rsplit("/t/", 1)[1]
    mine = dev.admin.client.get(f"/api/v1/public/tickets/{token}/")
    assert mine.status_code == 200, mine.text
    assert mine.json()["number"] == ticket["number"]

    printed = subprocess.run(
        [smartqueue_executable(), "mail", "--last", "20"],
        env=dev.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert f"To: {email}" in printed
    assert f"{ticket['number']}, it's your turn! Please go to counter 7." in printed

    # The ledger shows it to staff as sent, without address or body.
    page = dev.admin.ok("GET", f"notifications/?ticket_id={ticket['id']}&channel=email&status=sent")
    kinds = {item["kind"] for item in page["items"]}
    assert "called" in kinds
    item = next(item for item in page["items"] if item["kind"] == "called")
    assert item["ticket_id"] == ticket["id"]
    assert item["attempts"] == 1
    assert item["sent_at"] is not None
    assert set(item) == {
        "id",
        "kind",
        "channel",
        "status",
        "attempts",
        "ticket_id",
        "appointment_id",
        "created_at",
        "sent_at",
        "not_before",
        "reason",
    }
    assert (item["not_before"], item["reason"], item["appointment_id"]) == (None, None, None)


def test_a_staff_free_message_reaches_the_customer_once_and_is_never_a_template(dev: DevStack):
    customer_id, email = customer_with_email(dev.admin)
    ticket = dev.admin.issue(dev.floor.queue["id"], customer_id=customer_id)
    words = "Please bring your ID card {{ number }} {number}"

    sent = dev.agent.post(f"tickets/{ticket['id']}/message/", {"text": words})

    assert sent.status_code == 202, sent.text
    (message_id,) = sent.json()["message_ids"]

    def free_messages() -> list[EmailMessage]:
        return [m for m in caught_for(dev.mail, email) if "Please bring" in text_of(m)]

    (message,) = wait_for(free_messages)
    # The words arrive as they were typed: braces are text, not template syntax.
    assert words in text_of(message).splitlines()
    time.sleep(2)  # a second delivery would have arrived by now
    assert len(free_messages()) == 1
    page = dev.admin.ok("GET", f"notifications/?ticket_id={ticket['id']}")
    (entry,) = [item for item in page["items"] if item["id"] == message_id]
    assert entry["kind"] == "free_text"
    assert entry["channel"] == "email"


def test_a_free_message_names_what_is_wrong(dev: DevStack):
    queue_id = dev.floor.queue["id"]
    anonymous = dev.admin.issue(queue_id)
    customer_id, _ = customer_with_email(dev.admin)
    known = dev.admin.issue(queue_id, customer_id=customer_id)
    unreachable = dev.admin.ok("POST", "customers/", {"name": "Bob"}, status=201)
    silent = dev.admin.issue(queue_id, customer_id=unreachable["id"])

    missing = dev.agent.post(f"tickets/{uuid.uuid4()}/message/", {"text": "hello"})
    assert_problem(missing, 404)
    assert_problem(
        dev.agent.post(f"tickets/{anonymous['id']}/message/", {"text": "hello"}), 409, "no_contact"
    )
    assert_problem(
        dev.agent.post(f"tickets/{silent['id']}/message/", {"text": "hello"}), 409, "no_contact"
    )
    empty = dev.agent.post(f"tickets/{known['id']}/message/", {"text": "   "})
    assert "empty" in assert_problem(empty, 422)["detail"]
    long = dev.agent.post(f"tickets/{known['id']}/message/", {"text": "x" * 1001})
    assert "longer" in assert_problem(long, 422)["detail"]


def test_the_ledger_shows_an_appointments_messages_by_appointment_and_kind(dev: DevStack):
    customer_id, email = customer_with_email(dev.admin)
    service_id = dev.floor.service["id"]
    dev.admin.ok("PATCH", f"queues/services/{service_id}/", {"booking": {"capacity": 2}})
    booking = {
        "site_id": dev.floor.site["id"],
        "service_id": service_id,
        "customer_id": customer_id,
    }
    # Two days ahead: the confirmation goes at once, both reminders and "check in now" wait.
    booked = dev.admin.ok("POST", "appointments/", {**booking, "start": slot_in(2)}, status=201)
    other = dev.admin.ok("POST", "appointments/", {**booking, "start": slot_in(3)}, status=201)
    timed = {"appointment_reminder", "appointment_check_in_open"}

    (confirmation,) = wait_for(
        lambda: [m for m in caught_for(dev.mail, email) if booked["code"] in text_of(m)]
    )
    assert confirmation["Subject"].startswith("Appointment confirmed")
    deadline = time.monotonic() + 60
    while True:  # the notifier records the timed messages with the confirmation, or just after
        ledger = dev.admin.list(f"notifications/?appointment_id={booked['id']}")
        kinds = sorted(item["kind"] for item in ledger)
        if kinds == [
            "appointment_check_in_open",
            "appointment_confirmed",
            "appointment_reminder",
            "appointment_reminder",
        ] and all(item["status"] == "sent" for item in ledger if item["kind"] not in timed):
            break
        assert time.monotonic() < deadline, ledger
        time.sleep(0.2)

    assert {(item["appointment_id"], item["ticket_id"]) for item in ledger} == {
        (booked["id"], None)
    }
    assert all(
        item["status"] == "held" and item["not_before"] for item in ledger if item["kind"] in timed
    )
    reminders = dev.admin.list(
        f"notifications/?appointment_id={booked['id']}&kind=appointment_reminder", limit=1
    )
    assert len(reminders) == 2
    assert {item["id"] for item in reminders} < {item["id"] for item in ledger}
    # The other appointment's messages are its own; a ticket filter finds none of them.
    elsewhere = dev.admin.list(
        f"notifications/?appointment_id={other['id']}&kind=appointment_confirmed"
    )
    assert [item["appointment_id"] for item in elsewhere] == [other["id"]]
    assert (
        dev.admin.list(f"notifications/?ticket_id={uuid.uuid4()}&kind=appointment_confirmed") == []
    )


def test_the_ledger_list_refuses_bad_filters_and_agents(dev: DevStack):
    bad_status = dev.admin.get("notifications/?status=lost")
    assert "status" in assert_problem(bad_status, 422)["detail"]
    bad_channel = dev.admin.get("notifications/?channel=pigeon")
    assert "channel" in assert_problem(bad_channel, 422)["detail"]
    bad_kind = dev.admin.get("notifications/?kind=postcard")
    assert "kind" in assert_problem(bad_kind, 422)["detail"]
    assert_problem(dev.agent.get("notifications/"), 403)
    assert dev.admin.ok("GET", "notifications/?limit=1")["items"] is not None


def test_an_sms_without_a_provider_goes_to_the_console_and_the_ledger_says_sent(dev: DevStack):
    body = {
        "name": "Sam",
        "phone": "+33612345678",
        "preferences": {"channels": ["sms"]},
    }
    customer = dev.admin.ok("POST", "customers/", body, status=201)
    ticket = dev.admin.issue(dev.floor.queue["id"], customer_id=customer["id"])

    sent = dev.agent.post(f"tickets/{ticket['id']}/message/", {"text": "See you at 10"})

    assert sent.status_code == 202, sent.text
    (message_id,) = sent.json()["message_ids"]
    deadline = time.monotonic() + 60
    while True:
        page = dev.admin.ok("GET", f"notifications/?ticket_id={ticket['id']}&channel=sms")
        entry = next((item for item in page["items"] if item["id"] == message_id), None)
        if entry is not None and entry["status"] == "sent":
            break
        assert time.monotonic() < deadline, page
        time.sleep(0.2)
    assert entry["kind"] == "free_text"
