"""Email to a real SMTP server (aiosmtpd) started by the test: STARTTLS, AUTH, both bodies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from application.delivery import OutboundMessage, PermanentFailure, TransientFailure
from infrastructure.notify.email import SmtpChannel
from tests.provider_servers import Certificate, SmtpServer, refused_port, self_signed_certificate

SENDER = "SmartQueue <no-reply@queue.example.com>"
USER, PASSWORD = "notifier", "s3cret-smtp"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def secure_server(certificate: Certificate) -> Iterator[SmtpServer]:
    """STARTTLS required, AUTH required (and offered only once TLS is up)."""
    refusals = {
        "nobody@example.com": "550 5.1.1 <nobody@example.com>: Recipient address rejected",
        "full@example.com": "452 4.2.2 Mailbox full, try again later",
    }
    with SmtpServer(certificate, users={USER: PASSWORD}, rcpt_replies=refusals) as server:
        yield server


def secure_channel(
    server: SmtpServer, certificate: Certificate, password: str = PASSWORD
) -> SmtpChannel:
    return SmtpChannel(
        "127.0.0.1",
        server.port,
        sender=SENDER,
        security="starttls",
        username=USER,
        password=password,
        tls_context=certificate.client_context(),
        timeout=5,
    )


def ticket_mail(recipient: str = "camille@example.org") -> OutboundMessage:
    return OutboundMessage(
        message_id="0b7f6c1e-2f4a-5b8e-9c3d-4e5f6a7b8c9d",
        channel="email",
        recipient=recipient,
        subject="Votre numéro A-012 — environ 25 min",
        text="Bonjour,\nvotre numéro est A-012. Suivez-le : https://q.example/t/abc\n",
        html='<p>Bonjour,</p><p>votre numéro est <b>A-012</b>. <a href="https://q.example/t/abc">Suivre</a></p>\n',
        language="fr",
    )


def test_an_email_goes_over_starttls_with_auth_and_carries_both_bodies(
    secure_server: SmtpServer, certificate: Certificate
) -> None:
    message = ticket_mail()
    receipt = secure_channel(secure_server, certificate).send(message)

    (delivered,) = secure_server.delivered
    assert delivered.tls and delivered.login == USER
    assert delivered.mail_from == "no-reply@queue.example.com"
    assert delivered.rcpt_tos == ["camille@example.org"]
    email = delivered.message
    assert email["Subject"] == "Votre numéro A-012 — environ 25 min"
    assert email["From"] == SENDER
    assert email["To"] == "camille@example.org"
    assert email["Content-Language"] == "fr"
    assert email["Message-ID"] == "<0b7f6c1e-2f4a-5b8e-9c3d-4e5f6a7b8c9d@queue.example.com>"
    assert email["Date"]
    assert email.get_content_type() == "multipart/alternative"
    plain, html = email.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content() == message.text
    assert html.get_content_type() == "text/html"
    assert html.get_content() == message.html
    assert (receipt.provider_id, receipt.status) == (email["Message-ID"], "sent")


def test_implicit_tls_from_the_first_byte_works_too(certificate: Certificate) -> None:
    with SmtpServer(certificate, users={USER: PASSWORD}, implicit_tls=True) as server:
        channel = SmtpChannel(
            "127.0.0.1",
            server.port,
            sender=SENDER,
            security="tls",
            username=USER,
            password=PASSWORD,
            tls_context=certificate.client_context(),
            timeout=5,
        )
        channel.send(ticket_mail())

    (delivered,) = server.delivered
    assert delivered.tls and delivered.login == USER
    assert delivered.message["Subject"] == "Votre numéro A-012 — environ 25 min"


def test_the_same_message_sent_twice_keeps_its_message_id(
    secure_server: SmtpServer, certificate: Certificate
) -> None:
    channel = secure_channel(secure_server, certificate)
    channel.send(ticket_mail())
    channel.send(ticket_mail())
    first, second = (delivered.message["Message-ID"] for delivered in secure_server.delivered)
    assert first == second


def test_a_wrong_password_is_permanent(secure_server: SmtpServer, certificate: Certificate) -> None:
    with pytest.raises(PermanentFailure) as failure:
        secure_channel(secure_server, certificate, password="wrong").send(ticket_mail())
    assert "535" in failure.value.reason
    assert secure_server.delivered == []


def test_a_refused_recipient_is_permanent_and_a_full_mailbox_transient(
    secure_server: SmtpServer, certificate: Certificate
) -> None:
    channel = secure_channel(secure_server, certificate)
    with pytest.raises(PermanentFailure) as refused:
        channel.send(ticket_mail("nobody@example.com"))
    with pytest.raises(TransientFailure) as full:
        channel.send(ticket_mail("full@example.com"))
    assert "550" in refused.value.reason and "Recipient address rejected" in refused.value.reason
    assert "452" in full.value.reason
    assert secure_server.delivered == []


def test_a_server_whose_certificate_is_not_trusted_gets_nothing(
    secure_server: SmtpServer, tmp_path: Path
) -> None:
    stranger = self_signed_certificate(tmp_path)
    with pytest.raises(TransientFailure) as failure:
        secure_channel(secure_server, stranger).send(ticket_mail())
    assert "certificate" in failure.value.reason.lower()
    assert secure_server.delivered == []


def test_a_plain_text_message_without_tls_or_auth_reaches_a_local_relay() -> None:
    with SmtpServer() as relay:
        channel = SmtpChannel("127.0.0.1", relay.port, sender=SENDER, security="none", timeout=5)
        message = OutboundMessage(
            message_id="m-2",
            channel="email",
            recipient="a@example.org",
            subject="Hi",
            text="Only text\n",
        )
        channel.send(message)

    (delivered,) = relay.delivered
    assert not delivered.tls and delivered.login is None
    assert delivered.message.get_content_type() == "text/plain"
    assert delivered.message.get_content() == "Only text\n"
    assert delivered.message["Content-Language"] == "en"


def test_a_line_break_in_the_subject_cannot_inject_a_header() -> None:
    channel = SmtpChannel("127.0.0.1", refused_port(), sender=SENDER, security="none")
    message = OutboundMessage(
        message_id="m-3",
        channel="email",
        recipient="a@example.org",
        subject="Hello\r\nBcc: victim@example.org",
        text="x",
    )
    with pytest.raises(PermanentFailure):
        channel.send(message)


def test_an_unreachable_server_is_transient() -> None:
    channel = SmtpChannel("127.0.0.1", refused_port(), sender=SENDER, security="none", timeout=2)
    with pytest.raises(TransientFailure):
        channel.send(ticket_mail())
