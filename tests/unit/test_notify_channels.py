"""The console channel and the reading of a provider's ``Retry-After``, without any server."""

from __future__ import annotations

from email.utils import formatdate

import httpx

from application.delivery import Channel, OutboundMessage
from infrastructure.notify.console import ConsoleChannel
from infrastructure.notify.http import retry_after


def message(number: int) -> OutboundMessage:
    return OutboundMessage(
        message_id=f"m-{number}", channel="sms", recipient="+33612345678", text=f"A-{number:03}"
    )


def test_the_console_channel_records_every_message_and_never_fails() -> None:
    console: Channel = ConsoleChannel()
    receipts = [console.send(message(number)) for number in range(3)]

    assert [sent.message_id for sent in console.sent] == ["m-0", "m-1", "m-2"]  # type: ignore[attr-defined]
    assert [receipt.provider_id for receipt in receipts] == [
        "console:m-0",
        "console:m-1",
        "console:m-2",
    ]
    assert {receipt.status for receipt in receipts} == {"sent"}


def test_the_console_channel_keeps_only_the_latest_messages() -> None:
    console = ConsoleChannel(kept=2)
    for number in range(5):
        console.send(message(number))
    assert [sent.message_id for sent in console.sent] == ["m-3", "m-4"]


def answer(value: str | None) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": value} if value is not None else {})


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = 1_800_000_000.0
    assert retry_after(answer("30"), now=now) == 30.0
    assert retry_after(answer("1.5"), now=now) == 1.5
    assert retry_after(answer(formatdate(now + 120, usegmt=True)), now=now) == 120.0
    assert retry_after(answer(formatdate(now - 120, usegmt=True)), now=now) == 0.0
    assert retry_after(answer("-5"), now=now) == 0.0


def test_a_missing_or_unreadable_retry_after_is_none() -> None:
    for value in (None, "", "soon", "Mon, 99 Foo", "inf", "nan"):
        assert retry_after(answer(value), now=0) is None, value
