"""Email over SMTP: STARTTLS (or implicit TLS) and AUTH when configured, plain text plus HTML.

The Message-ID is derived from the ledger's message id, so a message sent twice (a retry after a
lost answer) carries the same id and a mail client shows it once. SMTP's reply codes decide the
failure: ``4xx`` is transient, ``5xx`` permanent.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from application.delivery import OutboundMessage, PermanentFailure, Receipt, TransientFailure

Security = Literal["none", "starttls", "tls"]
"""``starttls`` upgrades a plain connection (port 587); ``tls`` is TLS from the start (port 465)."""

_UNSAFE_ID_CHARACTERS = re.compile(r"[^A-Za-z0-9._\-]")


class SmtpChannel:
    """Sends the ``email`` channel through one SMTP server (a relay or a submission port)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        message_id_domain: str | None = None,
    ) -> None:
        """``sender`` is the From address (``"SmartQueue <no-reply@example.com>"`` works);
        ``tls_context`` defaults to the system's trust store with host name checks;
        ``message_id_domain`` defaults to the sender's domain."""
        self._host = host
        self._port = port
        self._sender = sender
        self._security = security
        self._login = (username, password or "") if username else None
        self._tls_context = tls_context or ssl.create_default_context()
        self._timeout = timeout
        self._id_domain = message_id_domain or _domain_of(sender)

    def message_id(self, message: OutboundMessage) -> str:
        """The Message-ID header for ``message``: its ledger id at this channel's domain."""
        local = _UNSAFE_ID_CHARACTERS.sub("-", message.message_id)
        return f"<{local}@{self._id_domain}>"

    def build(self, message: OutboundMessage) -> EmailMessage:
        """The MIME message: ``multipart/alternative`` when there is HTML, plain text otherwise."""
        email = EmailMessage()
        try:
            email["From"] = self._sender
            email["To"] = message.recipient
            email["Subject"] = message.subject
            email["Date"] = formatdate(localtime=False, usegmt=True)
            email["Message-ID"] = self.message_id(message)
        except (ValueError, TypeError) as error:
            # The policy refuses line breaks in headers: no header injection from rendered text.
            raise PermanentFailure(f"email: invalid header ({error})") from None
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        # After the parts: making the message multipart moves every Content-* header into them.
        email["Content-Language"] = _UNSAFE_ID_CHARACTERS.sub("", message.language) or "und"
        return email

    def send(self, message: OutboundMessage) -> Receipt:
        """Submit the message; the receipt's provider id is its Message-ID."""
        if "@" not in message.recipient:
            raise PermanentFailure(f"email: not an address: {message.recipient[:200]!r}")
        email = self.build(message)
        try:
            with self._connect() as smtp:
                if self._security == "starttls":
                    smtp.starttls(context=self._tls_context)
                    smtp.ehlo()
                if self._login:
                    smtp.login(*self._login)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise _failure(code, reply) from None
        except smtplib.SMTPResponseException as error:
            raise _failure(error.smtp_code, error.smtp_error) from None
        except smtplib.SMTPNotSupportedError as error:
            raise PermanentFailure(f"email: the server does not support {error}") from None
        except (smtplib.SMTPException, OSError) as error:
            # Refused or dropped connections, timeouts, TLS handshakes that failed.
            raise TransientFailure(f"email: {type(error).__name__}: {error}") from None
        return Receipt(provider_id=email["Message-ID"], status="sent")

    def _connect(self) -> smtplib.SMTP:
        if self._security == "tls":
            return smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._tls_context
            )
        return smtplib.SMTP(self._host, self._port, timeout=self._timeout)


def _failure(code: int, reply: bytes | str) -> PermanentFailure | TransientFailure:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    reason = f"email: SMTP {code} {text}"[:500]
    return TransientFailure(reason) if 400 <= code < 500 else PermanentFailure(reason)


def _domain_of(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "smartqueue.invalid"
