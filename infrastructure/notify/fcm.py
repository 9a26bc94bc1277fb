"""Push through Firebase Cloud Messaging's HTTP v1 API, authorised as a Google service account.

The access token comes from the OAuth2 JWT-bearer grant: an RS256 assertion signed with the service
account's private key is exchanged at its ``token_uri`` for a bearer token, cached until shortly
before it expires.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import msgspec

from application.delivery import OutboundMessage, PermanentFailure, Receipt, TransientFailure
from infrastructure.notify.http import (
    DEFAULT_TIMEOUT,
    ERROR_TEXT_LIMIT,
    ProviderRefused,
    body_text,
    http_client,
    post,
)

FCM_API = "https://fcm.googleapis.com"
MESSAGING_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
"""Seconds an assertion is valid for (Google accepts at most an hour)."""
REFRESH_MARGIN = 60.0
"""Seconds before a token's expiry at which a new one is fetched."""


class ServiceAccount(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a Google service-account key file that the token exchange needs."""

    project_id: str
    client_email: str
    private_key: str
    private_key_id: str = ""
    token_uri: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)

    @classmethod
    def from_json(cls, source: str | bytes | Path) -> ServiceAccount:
        """Read a key file's content, or the file at ``source`` when it is a ``Path``."""
        content = source.read_bytes() if isinstance(source, Path) else source
        return msgspec.json.decode(content, type=cls)


class AccessTokens:
    """Bearer tokens for one service account, fetched on demand and reused until near expiry."""

    def __init__(
        self,
        account: ServiceAccount,
        client: httpx.Client,
        *,
        scope: str = MESSAGING_SCOPE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._client = client
        self._scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        """A valid access token, fetched when none is cached or the cached one nears expiry."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN:
                self._token, self._expires_at = self._fetch()
            return self._token

    def forget(self, token: str) -> None:
        """Drop ``token`` (the API refused it), so the next call fetches a new one."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _fetch(self) -> tuple[str, float]:
        now = self._clock()
        claims = {
            "iss": self._account.client_email,
            "scope": self._scope,
            "aud": self._account.token_uri,
            "iat": int(now),
            "exp": int(now) + ASSERTION_LIFETIME,
        }
        headers = {"kid": self._account.private_key_id} if self._account.private_key_id else None
        try:
            assertion = jwt.encode(
                claims, self._account.private_key, algorithm="RS256", headers=headers
            )
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise PermanentFailure(f"fcm: the service account's key is unusable: {error}") from None
        response = post(
            self._client,
            self._account.token_uri,
            "fcm token",
            data={"grant_type": JWT_BEARER, "assertion": assertion},
        )
        try:
            answer = response.json()
            return str(answer["access_token"]), now + float(answer.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            text = body_text(response)
            raise TransientFailure(f"fcm token: unexpected answer {text!r}") from None


class FcmChannel:
    """Sends the ``push`` channel to one device registration token per message."""

    def __init__(
        self,
        account: ServiceAccount,
        *,
        base_url: str = FCM_API,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client or http_client(timeout)
        self._tokens = AccessTokens(account, self._client, clock=clock)
        self._url = f"{base_url.rstrip('/')}/v1/projects/{account.project_id}/messages:send"

    def send(self, message: OutboundMessage) -> Receipt:
        """Send the push; FCM's message name (``projects/…/messages/…``) is the provider id.

        A refused bearer token (401) is dropped and the send tried once more with a fresh one.
        """
        if not message.recipient:
            raise PermanentFailure("fcm: no device token")
        body = {"message": _fcm_message(message)}
        for attempt in (1, 2):
            token = self._tokens.token()
            try:
                response = post(
                    self._client,
                    self._url,
                    "fcm",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                    error_text=_error_text,
                )
                break
            except ProviderRefused as refusal:
                if attempt == 2 or refusal.status != 401:
                    raise
                self._tokens.forget(token)
        try:
            name = str(response.json()["name"])
        except (ValueError, KeyError, TypeError):
            raise TransientFailure(f"fcm: unexpected answer {body_text(response)!r}") from None
        return Receipt(provider_id=name, status="sent")

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()


def _fcm_message(message: OutboundMessage) -> dict[str, Any]:
    """FCM's ``Message``: the token, a title and body, and the data (FCM takes string values)."""
    fcm: dict[str, Any] = {"token": message.recipient}
    if message.subject or message.text:
        fcm["notification"] = {"title": message.subject, "body": message.text}
    if message.data:
        fcm["data"] = {
            key: value if isinstance(value, str) else msgspec.json.encode(value).decode()
            for key, value in message.data.items()
        }
    return fcm


def _error_text(response: httpx.Response) -> str:
    """Google's error (``{error: {status, message, details: [{errorCode}]}}``) as one line."""
    try:
        error = response.json()["error"]
        codes = [d["errorCode"] for d in error.get("details", []) if "errorCode" in d]
        code = codes[0] if codes else error.get("status", "")
        return f"{code}: {error.get('message', '')}"[:ERROR_TEXT_LIMIT]
    except (ValueError, KeyError, TypeError, AttributeError):
        return body_text(response)
