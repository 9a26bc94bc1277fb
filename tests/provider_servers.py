"""Local stand-ins for notification providers: real HTTP and SMTP servers on the loopback.

``ProviderServer`` is a stdlib HTTP server in a thread that records every request exactly as it
arrived and answers through a handler (the provider's behaviour) or through replies scripted for the
next requests to a path (a 429, a 500, a slow answer). ``SmtpServer`` is aiosmtpd's controller with
an optional STARTTLS certificate and AUTH, recording every envelope.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names lower-cased."""
    body: bytes
    at: float = field(default_factory=time.monotonic)
    """When it arrived (``time.monotonic()``)."""

    def form(self) -> dict[str, list[str]]:
        """The ``application/x-www-form-urlencoded`` body."""
        return parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """What the server answers: a status, a JSON (dict) or raw body, headers, an optional delay."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Seen], Reply]


class ProviderServer:
    """An HTTP server on 127.0.0.1 that records requests and answers like a provider."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Seen] = []
        self._scripted: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies`` in order, then the handler."""
        with self._lock:
            self._scripted[path].extend(replies)

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if seen.path == path]

    def __enter__(self) -> ProviderServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            scripted = self._scripted.get(seen.path)
            if scripted:
                return scripted.popleft()
        return self.handler(seen)

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length),
                )
                reply = server._answer(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
                payload = body.encode() if isinstance(body, str) else body
                headers = {"Content-Type": "application/json", **reply.headers}
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # The client gave up waiting (a timeout test): nobody to answer.

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return RequestHandler


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts this certificate only, with host name checks on."""
        return ssl.create_default_context(cafile=str(self.cert_file))


def self_signed_certificate(directory: Path) -> Certificate:
    """Make a fresh key and a self-signed certificate valid for a day."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@dataclass(frozen=True)
class Delivered:
    """One message the SMTP server accepted, with what the session knew when it did."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    login: str | None


class SmtpServer:
    """aiosmtpd on 127.0.0.1: STARTTLS required when given a certificate (or TLS from the first
    byte with ``implicit_tls``), AUTH when given users.

    ``rcpt_replies`` maps a recipient to the SMTP reply its RCPT gets (``"550 5.1.1 no such
    user"``), so a test can make the server refuse one address.
    """

    def __init__(
        self,
        certificate: Certificate | None = None,
        users: dict[str, str] | None = None,
        rcpt_replies: dict[str, str] | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.delivered: list[Delivered] = []
        self._users = users or {}
        self._rcpt_replies = rcpt_replies or {}
        self.port = refused_port()
        options: dict[str, Any] = {}
        if certificate is not None and implicit_tls:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; here the whole session is TLS.
            options.update(ssl_context=certificate.server_context(), auth_require_tls=False)
        elif certificate is not None:
            options.update(tls_context=certificate.server_context(), require_starttls=True)
        if users:
            # (aiosmtpd warns when AUTH is required without STARTTLS, even under implicit TLS;
            # there the test checks that the channel logged in instead.)
            options.update(authenticator=self._authenticate, auth_required=not implicit_tls)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self._users.get(login) == password:
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # type: ignore[no-untyped-def]
        if address in self._rcpt_replies:
            return self._rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        # The wire's CRLF line ends become Python's newlines, as a mail client shows them.
        content = envelope.original_content.replace(b"\r\n", b"\n")
        message = message_from_bytes(content, policy=policy.default)
        self.delivered.append(
            Delivered(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,  # type: ignore[arg-type]
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=session.auth_data if session.authenticated else None,
            )
        )
        return "250 Message accepted for delivery"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
