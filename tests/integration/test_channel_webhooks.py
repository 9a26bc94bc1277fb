"""Signed webhooks to a local receiver that verifies every request with ``verify_signature``."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from application.delivery import OutboundMessage, PermanentFailure, TransientFailure
from infrastructure.notify.webhooks import WebhookChannel, sign, verify_signature
from tests.integration.channel_contract import HttpChannelContract
from tests.provider_servers import ProviderServer, Reply, Seen

SECRET = "whsec_test_0123456789"
HOOK = "/hooks/smartqueue"
SIGNATURE = re.compile(r"^t=(\d+),v1=([0-9a-f]{64})$")


def receiver(seen: Seen) -> Reply:
    """A tenant's endpoint: 401 unless the signature is valid for the raw body, then 204."""
    if seen.path != HOOK:
        return Reply(404, {"error": "no such hook"})
    if not verify_signature(SECRET, seen.headers.get("smartqueue-signature"), seen.body):
        return Reply(401, {"error": "bad signature"})
    return Reply(204, b"")


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(receiver) as server:
        yield server


def event(url: str, message_id: str = "wh-42") -> OutboundMessage:
    return OutboundMessage(
        message_id=message_id,
        channel="webhook",
        recipient=url,
        data={
            "id": "6a4f0e0e-0d7e-4c38-9d0b-5a8c3f0b1e22",
            "type": "ticket.called",
            "data": {"number": "A-012", "counter": "3", "note": "café"},
        },
    )


def channel(clock=time.time, secret: str = SECRET, timeout: float = 5.0) -> WebhookChannel:  # type: ignore[no-untyped-def]
    # The receiver is on the loopback, which production refuses (see the test below).
    return WebhookChannel(lambda message: secret, clock=clock, timeout=timeout, public_only=False)


def test_a_webhook_is_a_json_post_signed_over_timestamp_and_body(provider: ProviderServer) -> None:
    message = event(provider.url + HOOK)
    receipt = channel().send(message)

    (seen,) = provider.requests
    assert (seen.method, seen.path) == ("POST", HOOK)
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["smartqueue-event-id"] == "wh-42"
    assert seen.headers["idempotency-key"] == "wh-42"
    assert json.loads(seen.body) == message.data
    match = SIGNATURE.match(seen.headers["smartqueue-signature"])
    assert match, seen.headers["smartqueue-signature"]
    timestamp, digest = int(match[1]), match[2]
    assert abs(time.time() - timestamp) < 5
    signed = f"{timestamp}.".encode() + seen.body
    assert digest == hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert (receipt.provider_id, receipt.status) == ("wh-42", "sent")


def test_a_tampered_body_is_rejected_by_the_receiver(provider: ProviderServer) -> None:
    channel().send(event(provider.url + HOOK))
    (seen,) = provider.requests
    headers = {
        "Content-Type": "application/json",
        **{
            name: seen.headers[name.lower()] for name in ("SmartQueue-Signature", "Idempotency-Key")
        },
    }
    tampered = seen.body.replace(b"A-012", b"A-013")

    assert httpx.post(provider.url + HOOK, content=tampered, headers=headers).status_code == 401
    # The untouched body, replayed within the tolerance, still verifies: receivers de-duplicate
    # on Idempotency-Key.
    assert httpx.post(provider.url + HOOK, content=seen.body, headers=headers).status_code == 204


def test_a_signature_made_with_another_secret_is_refused(provider: ProviderServer) -> None:
    with pytest.raises(PermanentFailure) as failure:
        channel(secret="whsec_other").send(event(provider.url + HOOK))
    assert "401" in failure.value.reason


def test_a_signature_older_than_the_tolerance_is_refused(provider: ProviderServer) -> None:
    with pytest.raises(PermanentFailure):
        channel(clock=lambda: time.time() - 301).send(event(provider.url + HOOK))
    body = b'{"a":1}'
    assert verify_signature(SECRET, sign(SECRET, body, 1_000), body, tolerance=300, now=1_299)
    assert not verify_signature(SECRET, sign(SECRET, body, 1_000), body, tolerance=300, now=1_301)
    assert not verify_signature(SECRET, sign(SECRET, body, 1_000), body, tolerance=300, now=699)


def test_malformed_signature_headers_are_refused() -> None:
    body, now = b"{}", 2_000
    good = sign(SECRET, body, now)
    digest = good.partition(",v1=")[2]
    for header in (
        None,
        "",
        "v1=" + digest,
        f"t={now}",
        f"t=soon,v1={digest}",
        f"t={now},v0={digest}",
    ):
        assert not verify_signature(SECRET, header, body, now=now), header
    assert verify_signature(SECRET, good, body, now=now)


def test_any_one_of_several_signatures_verifies_while_a_secret_is_rotated() -> None:
    body, now = b'{"type":"ticket.called"}', 2_000
    old = sign("whsec_old", body, now).partition(",")[2]
    new = sign(SECRET, body, now).partition(",")[2]
    assert verify_signature(SECRET, f"t={now},{old},{new}", body, now=now)
    assert not verify_signature(SECRET, f"t={now},{old}", body, now=now)


def test_a_retry_carries_the_same_event_id_and_a_fresh_signature(provider: ProviderServer) -> None:
    provider.script(HOOK, Reply(502, b"bad gateway"))
    now = [time.time() - 10]
    hook = channel(clock=lambda: now[0])
    with pytest.raises(TransientFailure):
        hook.send(event(provider.url + HOOK))
    now[0] += 10
    hook.send(event(provider.url + HOOK))

    first, second = provider.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "wh-42"
    assert first.body == second.body
    assert first.headers["smartqueue-signature"] != second.headers["smartqueue-signature"]


def test_a_redirect_is_not_followed(provider: ProviderServer) -> None:
    provider.script(HOOK, Reply(301, b"", {"Location": provider.url + "/elsewhere"}))
    with pytest.raises(PermanentFailure) as failure:
        channel().send(event(provider.url + HOOK))
    assert "301" in failure.value.reason
    assert [seen.path for seen in provider.requests] == [HOOK]


def test_a_url_that_is_not_http_is_refused_before_any_request() -> None:
    with pytest.raises(PermanentFailure):
        channel().send(event("file:///etc/passwd"))


def test_by_default_a_url_on_the_loopback_or_a_private_network_is_refused(
    provider: ProviderServer,
) -> None:
    guarded = WebhookChannel(lambda message: SECRET)
    for url in (
        provider.url + HOOK,
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ):
        with pytest.raises(PermanentFailure) as failure:
            guarded.send(event(url))
        assert "not a public address" in failure.value.reason, url
    assert provider.requests == []


class TestWebhookAnswers(HttpChannelContract):
    send_path = HOOK
    rejection = Reply(410, {"error": "this subscription is gone"})
    rejection_text = "this subscription is gone"

    def channel_for(
        self, provider: ProviderServer, base_url: str, timeout: float
    ) -> WebhookChannel:
        return channel(timeout=timeout)

    def message_for(self, base_url: str) -> OutboundMessage:
        return event(base_url + HOOK)
