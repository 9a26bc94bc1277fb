"""Local stand-ins for notification providers: real HTTP and SMTP servers on the loopback.

``ProviderServer`` is a stdlib HTTP server in a thread that records every request exactly as it
arrived and answers through a handler (the provider's behaviour) or through replies scripted for the
next requests to a path (a 429, a 500, a slow answer). Its fault knobs make it answer a seeded,
deterministic share of requests with an error (``fail_share``), and go down (``down``: connections
refused) and come back on the same port (``up``). ``SmtpServer`` is aiosmtpd's controller with
an optional STARTTLS certificate and AUTH, recording every envelope. ``Google`` answers as FCM
HTTP v1 and Google's OAuth2 token endpoint do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import json
import random
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

import jwt
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
        self.faults_answered = 0
        """How many requests :meth:`fail_share` answered with its error."""
        self._scripted: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._failing: tuple[float, random.Random, Reply] | None = None
        self._down = False
        self._held: socket.socket | None = None  # the port, bound but not listening, while down
        self._connections: dict[socket.socket, bool] = {}  # open connection -> answering now
        self._server = self._listen(0)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self._request_handler())
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies`` in order, then the handler."""
        with self._lock:
            self._scripted[path].extend(replies)

    def fail_share(self, share: float, seed: int, reply: Reply | None = None) -> None:
        """From now on, answer a ``share`` of the requests (0 to 1) with ``reply`` (a ``500`` by
        default) instead of the handler: each request draws from a generator seeded with
        ``seed``, so the n-th request fails or not the same way on every run."""
        failure = reply or Reply(500, {"code": 20500, "message": "Internal Server Error"})
        with self._lock:
            self._failing = (share, random.Random(seed), failure)

    def down(self) -> None:
        """Stop listening: new connections are refused (the port stays bound, not listening, so
        nothing else takes it), idle kept-alive connections are closed, and a request being
        answered is answered, then its connection closed. Requests that arrive on a connection
        from now on get no answer and are not recorded."""
        with self._lock:
            if self._down:
                return
            self._down = True
        self._server.shutdown()
        self._server.server_close()
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", self.port))
        with self._lock:
            self._held = held
            for connection, answering in self._connections.items():
                if not answering:
                    _shut(connection)
        self._thread.join(timeout=5)

    def up(self) -> None:
        """Listen again on the same port, answering as before."""
        with self._lock:
            if not self._down:
                return
            held, self._held = self._held, None
        if held is not None:
            held.close()
        self._server = self._listen(self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        with self._lock:
            self._down = False
        self._thread.start()

    @property
    def is_down(self) -> bool:
        with self._lock:
            return self._down

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if seen.path == path]

    def __enter__(self) -> ProviderServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.is_down:
            self.up()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            scripted = self._scripted.get(seen.path)
            if scripted:
                return scripted.popleft()
            if self._failing is not None:
                share, draws, failure = self._failing
                if draws.random() < share:
                    self.faults_answered += 1
                    return failure
        return self.handler(seen)

    def _begin_answer(self, connection: socket.socket) -> bool:
        """Mark ``connection`` as being answered; False (answer nothing) while down."""
        with self._lock:
            if self._down:
                return False
            self._connections[connection] = True
            return True

    def _end_answer(self, connection: socket.socket) -> bool:
        """The answer is written; whether the connection may stay open."""
        with self._lock:
            if connection in self._connections:
                self._connections[connection] = False
            return not self._down

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections[self.connection] = False

            def finish(self) -> None:
                with server._lock:
                    server._connections.pop(self.connection, None)
                with contextlib.suppress(OSError):  # closed under us by ``down``
                    super().finish()

            def do_POST(self) -> None:
                if not server._begin_answer(self.connection):
                    self.close_connection = True  # down: the client sees no answer
                    return
                try:
                    self._answer()
                finally:
                    if not server._end_answer(self.connection):
                        self.close_connection = True

            def _answer(self) -> None:
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


def _shut(connection: socket.socket) -> None:
    """Close a kept-alive connection under its handler, which then sees the end of its input."""
    with contextlib.suppress(OSError):  # closed already
        connection.shutdown(socket.SHUT_RDWR)


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
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


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

    def to(self, *recipients: str) -> list[Delivered]:
        """The messages sent to any of ``recipients``: a test counts its own customers' mail,
        not a message an earlier test's events caused (a new notifier group starts a few
        seconds before its start time, so it may read them)."""
        wanted = set(recipients)
        return [d for d in self.delivered if wanted & set(d.rcpt_tos)]

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


# -- FCM HTTP v1 and Google's OAuth2 token endpoint ------------------------------------------

PROJECT = "smartqueue-test"
SEND = f"/v1/projects/{PROJECT}/messages:send"
TOKEN = "/token"
CLIENT_EMAIL = f"notifier@{PROJECT}.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef0123456789abcdef01234567"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def google_error(code: int, status: str, message: str, fcm_code: str | None = None) -> dict:
    details = [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
    ]
    error = {"code": code, "message": message, "status": status}
    return {"error": {**error, "details": details if fcm_code else []}}


class Google:
    """The OAuth2 token endpoint and FCM's send endpoint, answering as Google does: the token
    endpoint verifies the JWT assertion's RS256 signature with the service account's public key;
    the send endpoint takes only the bearer tokens it issued, and answers 404 UNREGISTERED for
    the device token ``unregistered-device``."""

    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self.public_key = public_key
        self.issued: set[str] = set()
        self.token_uri = ""
        self.token_lifetime = 3599
        self._tokens = itertools.count(1)
        self._names = itertools.count(1)

    def __call__(self, seen: Seen) -> Reply:
        if seen.method == "POST" and seen.path == TOKEN:
            return self.token(seen)
        if seen.method == "POST" and seen.path == SEND:
            return self.send(seen)
        return Reply(404, google_error(404, "NOT_FOUND", "not found"))

    def token(self, seen: Seen) -> Reply:
        form = seen.form()
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return Reply(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(
                form["assertion"][0],
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_uri,
                issuer=CLIENT_EMAIL,
                options={"require": ["iat", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return Reply(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            )
        if claims.get("scope") != SCOPE or claims["exp"] - claims["iat"] > 3600:
            return Reply(400, {"error": "invalid_scope"})
        token = f"ya29.test-{next(self._tokens)}"
        self.issued.add(token)
        return Reply(
            200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    def send(self, seen: Seen) -> Reply:
        bearer = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued:
            return Reply(
                401, google_error(401, "UNAUTHENTICATED", "invalid authentication credentials")
            )
        if seen.headers.get("content-type") != "application/json":
            return Reply(400, google_error(400, "INVALID_ARGUMENT", "expected JSON"))
        message = seen.json()["message"]
        if message["token"] == "unregistered-device":
            return Reply(
                404,
                google_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
            )
        return Reply(200, {"name": f"projects/{PROJECT}/messages/0:{next(self._names)}"})


def key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def service_account_key(key: rsa.RSAPrivateKey, token_uri: str) -> dict[str, str]:
    """A service account's key file as Google's console downloads it, for ``key``."""
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": KEY_ID,
        "private_key": key_pem(key),
        "client_email": CLIENT_EMAIL,
        "client_id": "123456789",
        "token_uri": token_uri,
    }
