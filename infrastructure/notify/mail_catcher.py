"""``smartqueue dev``'s local mail catcher: a real SMTP server (aiosmtpd) on a free loopback port
that accepts every message and writes it as an ``.eml`` file under ``$SMARTQUEUE_HOME/mail/``,
so a newcomer reads what customers were sent without any mail account."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import uuid4

from aiosmtpd.controller import Controller

MAIL_DIRECTORY = "mail"
"""Under the data home: where caught messages are written."""


def mail_directory(home: Path) -> Path:
    """Where the catcher of the data home ``home`` writes its messages."""
    return home / MAIL_DIRECTORY


def free_loopback_port() -> int:
    """A loopback port free right now (bound, then released for the server to take)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _WriteEml:
    """aiosmtpd's handler: every accepted message becomes one file, written whole or not at all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        target = self.directory / f"{stamp}-{uuid4().hex[:8]}.eml"
        partial = target.with_suffix(".part")
        partial.write_bytes(envelope.original_content)
        os.replace(partial, target)  # a reader never sees half a message
        return "250 Message caught"


class MailCatcher:
    """The SMTP server, started and stopped with ``dev``."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.host = "127.0.0.1"
        self.port = port or free_loopback_port()
        self._controller = Controller(_WriteEml(directory), hostname=self.host, port=self.port)

    def start(self) -> MailCatcher:
        """Listen (the directory is created if need be)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # aiosmtpd logs every SMTP command at INFO: the dev log would be mostly mail sessions.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening; the caught messages stay."""
        self._controller.stop()


@dataclass(frozen=True)
class CaughtMail:
    """One caught message as ``smartqueue mail`` shows it."""

    path: Path
    message: EmailMessage

    @property
    def summary(self) -> str:
        """``date  to  subject`` on one line."""
        m = self.message
        return f"{m['Date'] or '?'}  to {m['To'] or '?'}  {m['Subject'] or '(no subject)'}"

    def text(self) -> str:
        """The headers a reader wants and the plain-text body (else the HTML source)."""
        m = self.message
        body = m.get_body(preferencelist=("plain", "html"))
        content = body.get_content() if body is not None else ""
        headers = "\n".join(f"{name}: {m[name]}" for name in ("From", "To", "Date", "Subject"))
        return f"{headers}\n\n{content.rstrip()}\n"


def caught_mail(directory: Path) -> list[CaughtMail]:
    """Every caught message, oldest first."""
    if not directory.is_dir():
        return []
    return [
        CaughtMail(path, message_from_bytes(path.read_bytes(), policy=policy.default))  # type: ignore[arg-type]
        for path in sorted(directory.glob("*.eml"))
    ]
