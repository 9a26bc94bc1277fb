"""SMS and WhatsApp through Twilio's Messages REST API, and the status callback's signature check.

One API serves both channels: a WhatsApp message is an SMS whose ``To`` and ``From`` carry the
``whatsapp:`` prefix. Twilio answers ``201`` with the message's SID and a status (``queued`` or
``accepted``), then reports progress to the ``StatusCallback`` URL, signed with
``X-Twilio-Signature``; ``verify_twilio_signature`` checks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

import httpx

from application.delivery import OutboundMessage, PermanentFailure, Receipt, TransientFailure
from infrastructure.notify.http import (
    DEFAULT_TIMEOUT,
    ERROR_TEXT_LIMIT,
    body_text,
    http_client,
    post,
)

TWILIO_API = "https://api.twilio.com"
WHATSAPP_PREFIX = "whatsapp:"


class TwilioChannel:
    """Sends the ``sms`` and ``whatsapp`` channels through one Twilio account."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sms_sender: str | None = None,
        whatsapp_sender: str | None = None,
        status_callback: str | None = None,
        base_url: str = TWILIO_API,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
    ) -> None:
        """``sms_sender`` is a phone number or a Messaging Service SID (``MG…``);
        ``whatsapp_sender`` the WhatsApp-enabled number; ``status_callback`` the public URL of
        the endpoint that takes Twilio's status reports."""
        self._sid = account_sid
        self._auth = (account_sid, auth_token)
        self._senders = {"sms": sms_sender, "whatsapp": whatsapp_sender}
        self._status_callback = status_callback
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._client = client or http_client(timeout)

    def send(self, message: OutboundMessage) -> Receipt:
        """Create the message at Twilio; its SID is the receipt's provider id."""
        form = self._form(message)
        response = post(
            self._client, self._url, "twilio", data=form, auth=self._auth, error_text=_error_text
        )
        try:
            answer = response.json()
            sid = str(answer["sid"])
        except (ValueError, KeyError, TypeError):
            raise TransientFailure(f"twilio: unexpected answer {body_text(response)!r}") from None
        status = "sent" if answer.get("status") == "sent" else "queued"
        return Receipt(provider_id=sid, status=status)

    def _form(self, message: OutboundMessage) -> dict[str, str]:
        if message.channel not in self._senders:
            raise PermanentFailure(f"twilio: cannot send the {message.channel} channel")
        sender = self._senders[message.channel]
        if not sender:
            raise PermanentFailure(f"twilio: no sender configured for {message.channel}")
        if not message.recipient:
            raise PermanentFailure("twilio: no recipient")
        recipient = message.recipient
        if message.channel == "whatsapp":
            recipient = _whatsapp(recipient)
            sender = _whatsapp(sender)
        form = {"To": recipient, "Body": message.text}
        if message.channel == "sms" and sender.startswith("MG"):
            form["MessagingServiceSid"] = sender
        else:
            form["From"] = sender
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        return form

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()


def _whatsapp(number: str) -> str:
    return number if number.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + number


def _error_text(response: httpx.Response) -> str:
    """Twilio's JSON error (``{code, message, more_info, status}``) as one line."""
    try:
        error = response.json()
        return f"{error['message']} (code {error['code']})"[:ERROR_TEXT_LIMIT]
    except (ValueError, KeyError, TypeError):
        return body_text(response)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str | Iterable[str]]) -> str:
    """The ``X-Twilio-Signature`` of a request: base64 HMAC-SHA1, keyed with the auth token, over
    the full URL followed by each POST parameter's name and value, sorted by name (then value)."""
    payload = url
    for name in sorted(params):
        value = params[name]
        values = [value] if isinstance(value, str) else sorted(value)
        for item in values:
            payload += name + item
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_twilio_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, str | Iterable[str]],
    signature: str | None,
) -> bool:
    """Whether ``signature`` is Twilio's for this request. ``url`` is the exact URL Twilio called
    (scheme, host, port, path and query as configured in ``StatusCallback``), ``params`` the
    form-encoded body. Compared in constant time."""
    if not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())
