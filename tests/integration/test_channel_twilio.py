"""SMS and WhatsApp through a local server that speaks Twilio's Messages API, request by request."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator

import pytest

from application.delivery import OutboundMessage, PermanentFailure
from infrastructure.notify.twilio import TwilioChannel, twilio_signature, verify_twilio_signature
from tests.integration.channel_contract import HttpChannelContract
from tests.provider_servers import ProviderServer, Reply, Seen

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-for-tests"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
CALLBACK = "https://queue.example.com/api/v1/hooks/twilio/status?tenant=acme"
SMS_FROM = "+15005550006"
WHATSAPP_FROM = "+14155238886"


def twilio(seen: Seen) -> Reply:
    """Twilio's answers: 401 without the account's basic auth, 400 (code 21211) for a number it
    cannot parse, otherwise ``201`` with a new SID and status ``queued``."""
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    if seen.path != MESSAGES or seen.method != "POST":
        return Reply(404, {"code": 20404, "message": "The requested resource was not found"})
    if seen.headers.get("authorization") != expected:
        return Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
    form = seen.form()
    if not form["To"][0].removeprefix("whatsapp:").startswith("+"):
        return Reply(
            400,
            {
                "code": 21211,
                "message": f"The 'To' number {form['To'][0]} is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            },
        )
    return Reply(201, {"sid": f"SM{next(_sids):032x}", "status": "queued", "to": form["To"][0]})


_sids = itertools.count(1)


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer(twilio) as server:
        yield server


def channel(base_url: str, timeout: float = 5.0, auth_token: str = TOKEN) -> TwilioChannel:
    return TwilioChannel(
        account_sid=SID,
        auth_token=auth_token,
        sms_sender=SMS_FROM,
        whatsapp_sender=WHATSAPP_FROM,
        status_callback=CALLBACK,
        base_url=base_url,
        timeout=timeout,
    )


def sms(recipient: str = "+33612345678", channel_name: str = "sms") -> OutboundMessage:
    return OutboundMessage(
        message_id="msg-1",
        channel=channel_name,  # type: ignore[arg-type]
        recipient=recipient,
        text="Votre numéro A-012 : environ 25 min. Suivre : https://q.example/t/abc",
        language="fr",
    )


def test_an_sms_is_a_form_encoded_post_with_basic_auth_and_every_field(
    provider: ProviderServer,
) -> None:
    receipt = channel(provider.url).send(sms())

    (seen,) = provider.requests
    assert (seen.method, seen.path, seen.query) == ("POST", MESSAGES, {})
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (
        seen.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    assert seen.form() == {
        "To": ["+33612345678"],
        "From": [SMS_FROM],
        "Body": ["Votre numéro A-012 : environ 25 min. Suivre : https://q.example/t/abc"],
        "StatusCallback": [CALLBACK],
    }
    assert receipt.provider_id.startswith("SM") and len(receipt.provider_id) == 34
    assert receipt.status == "queued"


def test_a_whatsapp_message_uses_the_same_api_with_prefixed_numbers(
    provider: ProviderServer,
) -> None:
    channel(provider.url).send(sms(channel_name="whatsapp"))

    (seen,) = provider.requests
    assert seen.path == MESSAGES
    form = seen.form()
    assert form["To"] == ["whatsapp:+33612345678"]
    assert form["From"] == [f"whatsapp:{WHATSAPP_FROM}"]


def test_a_messaging_service_sid_replaces_from(provider: ProviderServer) -> None:
    service = TwilioChannel(
        account_sid=SID, auth_token=TOKEN, sms_sender="MG" + "0" * 32, base_url=provider.url
    )
    service.send(sms())

    form = provider.requests[0].form()
    assert form == {
        "To": ["+33612345678"],
        "MessagingServiceSid": ["MG" + "0" * 32],
        "Body": [sms().text],
    }


def test_an_invalid_number_is_permanent_with_twilios_message(provider: ProviderServer) -> None:
    with pytest.raises(PermanentFailure) as failure:
        channel(provider.url).send(sms(recipient="0612"))
    assert "is not a valid phone number" in failure.value.reason
    assert "21211" in failure.value.reason


def test_wrong_credentials_are_permanent(provider: ProviderServer) -> None:
    with pytest.raises(PermanentFailure) as failure:
        channel(provider.url, auth_token="wrong").send(sms())
    assert "401" in failure.value.reason


def test_a_channel_without_a_sender_refuses_before_calling_twilio(provider: ProviderServer) -> None:
    sms_only = TwilioChannel(
        account_sid=SID, auth_token=TOKEN, sms_sender=SMS_FROM, base_url=provider.url
    )
    with pytest.raises(PermanentFailure):
        sms_only.send(sms(channel_name="whatsapp"))
    assert provider.requests == []


class TestTwilioAnswers(HttpChannelContract):
    send_path = MESSAGES
    rejection = Reply(
        400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
    )
    rejection_text = "Attempt to send to unsubscribed recipient (code 21610)"

    def channel_for(self, provider: ProviderServer, base_url: str, timeout: float) -> TwilioChannel:
        return channel(base_url, timeout)

    def message_for(self, base_url: str) -> OutboundMessage:
        return sms()


# Twilio's documented example: this URL, these parameters and this auth token sign to this.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_TOKEN = "12345"
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_the_status_callback_signature_matches_twilios_documented_example() -> None:
    assert twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert verify_twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_a_status_callback_with_a_changed_field_url_or_token_is_refused() -> None:
    assert not verify_twilio_signature(
        DOC_TOKEN, DOC_URL, {**DOC_PARAMS, "Digits": "9"}, DOC_SIGNATURE
    )
    assert not verify_twilio_signature(DOC_TOKEN, DOC_URL + "&x=1", DOC_PARAMS, DOC_SIGNATURE)
    assert not verify_twilio_signature("other", DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    assert not verify_twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, None)
