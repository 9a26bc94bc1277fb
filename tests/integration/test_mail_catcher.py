"""The dev mail catcher is a real SMTP server: what the email channel sends it is written as one
``.eml`` file per message, and ``smartqueue mail`` lists and prints them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from application.delivery import OutboundMessage
from infrastructure.notify.email import SmtpChannel
from infrastructure.notify.mail_catcher import MailCatcher, caught_mail, mail_directory
from interfaces.cli import main

pytestmark = pytest.mark.integration


def message(number: int) -> OutboundMessage:
    return OutboundMessage(
        message_id=f"00000000-0000-0000-0000-00000000000{number}",
        channel="email",
        recipient=f"customer{number}@example.com",
        subject=f"A-00{number}: it's your turn",
        text=f"A-00{number}, please go to counter 2.",
        html=f"<p>A-00{number}, please go to counter 2.</p>",
    )


def test_every_message_sent_to_the_catcher_becomes_an_eml_file(tmp_path: Path):
    catcher = MailCatcher(mail_directory(tmp_path)).start()
    try:
        channel = SmtpChannel(
            catcher.host, catcher.port, sender="SmartQueue <no-reply@localhost>", security="none"
        )
        channel.send(message(1))
        channel.send(message(2))
    finally:
        catcher.stop()

    caught = caught_mail(tmp_path / "mail")
    assert [mail.message["To"] for mail in caught] == [
        "customer1@example.com",
        "customer2@example.com",
    ]
    assert "A-002: it's your turn" in caught[1].summary
    assert "A-002, please go to counter 2." in caught[1].text()
    assert not list((tmp_path / "mail").glob("*.part"))


def test_smartqueue_mail_lists_the_caught_messages_and_prints_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SMARTQUEUE_HOME", str(tmp_path))
    runner = CliRunner()
    empty = runner.invoke(main, ["mail"])
    assert empty.exit_code == 0
    assert "no mail caught yet" in empty.output

    catcher = MailCatcher(mail_directory(tmp_path)).start()
    try:
        channel = SmtpChannel(catcher.host, catcher.port, sender="sq@localhost", security="none")
        channel.send(message(1))
        channel.send(message(2))
    finally:
        catcher.stop()

    listed = runner.invoke(main, ["mail"])
    assert listed.exit_code == 0, listed.output
    assert "   1  " in listed.output and "customer1@example.com" in listed.output
    assert "   2  " in listed.output and "A-002: it's your turn" in listed.output
    last = runner.invoke(main, ["mail", "--last", "1"])
    assert "To: customer2@example.com" in last.output
    assert "A-002, please go to counter 2." in last.output
    assert "customer1@example.com" not in last.output
