"""Push through a local server that speaks FCM HTTP v1 and Google's OAuth2 token endpoint
(:class:`tests.provider_servers.Google`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from application.delivery import OutboundMessage, PermanentFailure, TransientFailure
from infrastructure.notify.fcm import FcmChannel, ServiceAccount
from tests.integration.channel_contract import HttpChannelContract
from tests.provider_servers import (
    CLIENT_EMAIL,
    KEY_ID,
    PROJECT,
    SCOPE,
    SEND,
    TOKEN,
    Google,
    ProviderServer,
    Reply,
    google_error,
    service_account_key,
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(key: rsa.RSAPrivateKey) -> Google:
    return Google(key.public_key())


@pytest.fixture
def provider(google: Google) -> Iterator[ProviderServer]:
    with ProviderServer(google) as server:
        google.token_uri = server.url + TOKEN
        yield server


def account(provider: ProviderServer, key: rsa.RSAPrivateKey) -> ServiceAccount:
    """A service account as its downloaded key file has it, pointing at the local token endpoint."""
    return ServiceAccount.from_json(json.dumps(service_account_key(key, provider.url + TOKEN)))


def push(device: str = "device-registration-token-1") -> OutboundMessage:
    return OutboundMessage(
        message_id="msg-7",
        channel="push",
        recipient=device,
        subject="A-012",
        text="Your turn is near: 2 people ahead",
        data={"ticket": "A-012", "position": 2, "link": "https://q.example/t/abc"},
        language="en",
    )


def test_a_push_carries_a_bearer_token_obtained_with_a_signed_assertion(
    provider: ProviderServer, key: rsa.RSAPrivateKey
) -> None:
    receipt = FcmChannel(account(provider, key), base_url=provider.url).send(push())

    exchange, sent = provider.requests
    assert (exchange.method, exchange.path) == ("POST", TOKEN)
    assert exchange.headers["content-type"] == "application/x-www-form-urlencoded"
    form = exchange.form()
    assert set(form) == {"grant_type", "assertion"}
    header = jwt.get_unverified_header(form["assertion"][0])
    assert (header["alg"], header["kid"]) == ("RS256", KEY_ID)
    claims = jwt.decode(
        form["assertion"][0], key.public_key(), algorithms=["RS256"], audience=provider.url + TOKEN
    )
    assert set(claims) == {"iss", "scope", "aud", "iat", "exp"}
    assert (claims["iss"], claims["scope"]) == (CLIENT_EMAIL, SCOPE)
    assert claims["exp"] - claims["iat"] == 3600

    assert (sent.method, sent.path, sent.query) == ("POST", SEND, {})
    assert sent.headers["authorization"] == "Bearer ya29.test-1"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json() == {
        "message": {
            "token": "device-registration-token-1",
            "notification": {"title": "A-012", "body": "Your turn is near: 2 people ahead"},
            "data": {"ticket": "A-012", "position": "2", "link": "https://q.example/t/abc"},
        }
    }
    assert receipt.provider_id == f"projects/{PROJECT}/messages/0:1"
    assert receipt.status == "sent"


def test_the_access_token_is_reused_until_shortly_before_it_expires(
    provider: ProviderServer, key: rsa.RSAPrivateKey
) -> None:
    # The channel's clock starts an hour back, so each assertion it signs is still valid now.
    now = [time.time() - 3590]
    channel = FcmChannel(account(provider, key), base_url=provider.url, clock=lambda: now[0])
    channel.send(push())
    now[0] += 3000
    channel.send(push())
    assert len(provider.requests_to(TOKEN)) == 1
    now[0] += 560  # 3560 s after issue: within the last minute of 3599
    channel.send(push())

    assert len(provider.requests_to(TOKEN)) == 2
    bearers = [seen.headers["authorization"] for seen in provider.requests_to(SEND)]
    assert bearers == ["Bearer ya29.test-1", "Bearer ya29.test-1", "Bearer ya29.test-2"]


def test_a_token_the_api_no_longer_takes_is_replaced_and_the_push_sent(
    provider: ProviderServer, google: Google, key: rsa.RSAPrivateKey
) -> None:
    channel = FcmChannel(account(provider, key), base_url=provider.url)
    channel.send(push())
    google.issued.clear()  # revoked at Google's end

    receipt = channel.send(push())

    assert [seen.path for seen in provider.requests] == [TOKEN, SEND, SEND, TOKEN, SEND]
    assert receipt.provider_id.startswith(f"projects/{PROJECT}/messages/")


def test_an_assertion_signed_with_another_key_is_refused_for_good(
    provider: ProviderServer,
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(PermanentFailure) as failure:
        FcmChannel(account(provider, stranger), base_url=provider.url).send(push())
    assert "invalid_grant" in failure.value.reason
    assert provider.requests_to(SEND) == []


def test_a_token_endpoint_that_is_down_is_transient(
    provider: ProviderServer, key: rsa.RSAPrivateKey
) -> None:
    provider.script(TOKEN, Reply(503, {"error": "backend_error"}))
    with pytest.raises(TransientFailure):
        FcmChannel(account(provider, key), base_url=provider.url).send(push())
    assert provider.requests_to(SEND) == []


def test_an_unregistered_device_is_permanent(
    provider: ProviderServer, key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(PermanentFailure) as failure:
        FcmChannel(account(provider, key), base_url=provider.url).send(push("unregistered-device"))
    assert "UNREGISTERED" in failure.value.reason


class TestFcmAnswers(HttpChannelContract):
    send_path = SEND
    rejection = Reply(
        400,
        google_error(
            400, "INVALID_ARGUMENT", "The registration token is not valid", "INVALID_ARGUMENT"
        ),
    )
    rejection_text = "INVALID_ARGUMENT: The registration token is not valid"

    @pytest.fixture(autouse=True)
    def _key(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key

    def channel_for(self, provider: ProviderServer, base_url: str, timeout: float) -> FcmChannel:
        return FcmChannel(account(provider, self.key), base_url=base_url, timeout=timeout)

    def message_for(self, base_url: str) -> OutboundMessage:
        return push()
