"""What every HTTP channel does with a provider's answers, checked against a real local server.

Subclass ``HttpChannelContract`` per adapter and provide the ``provider`` fixture (a running
``ProviderServer`` that answers like the provider), ``send_path``, ``channel_for`` and
``message_for``, and ``rejection`` (the provider's own answer to a request it refuses for good).
"""

from __future__ import annotations

import time

import pytest

from application.delivery import (
    Channel,
    OutboundMessage,
    PermanentFailure,
    TransientFailure,
)
from tests.provider_servers import ProviderServer, Reply, refused_port


class HttpChannelContract:
    """2xx delivers; 408/429/5xx, timeouts and refused connections are transient; 4xx final."""

    send_path: str
    rejection: Reply
    rejection_text: str
    """A fragment of the provider's error text that the permanent failure must carry."""

    def channel_for(self, provider: ProviderServer, base_url: str, timeout: float) -> Channel:
        raise NotImplementedError

    def message_for(self, base_url: str) -> OutboundMessage:
        raise NotImplementedError

    def _send(self, provider: ProviderServer, base_url: str | None = None, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        url = base_url or provider.url
        return self.channel_for(provider, url, timeout).send(self.message_for(url))

    def test_a_rate_limit_is_transient_and_carries_the_providers_retry_after(
        self, provider: ProviderServer
    ) -> None:
        provider.script(
            self.send_path, Reply(429, {"message": "Too Many Requests"}, {"Retry-After": "17"})
        )
        with pytest.raises(TransientFailure) as failure:
            self._send(provider)
        assert failure.value.retry_after == 17.0
        assert "429" in failure.value.reason
        # The limit lifted, the same message goes through.
        assert self._send(provider).provider_id

    def test_a_rate_limit_without_retry_after_leaves_the_delay_to_the_job(
        self, provider: ProviderServer
    ) -> None:
        provider.script(self.send_path, Reply(429, {"message": "slow down"}))
        with pytest.raises(TransientFailure) as failure:
            self._send(provider)
        assert failure.value.retry_after is None

    def test_a_server_error_is_transient(self, provider: ProviderServer) -> None:
        provider.script(self.send_path, Reply(500, {"message": "Internal"}))
        provider.script(self.send_path, Reply(503, b"unavailable", {"Retry-After": "2"}))
        with pytest.raises(TransientFailure) as first:
            self._send(provider)
        with pytest.raises(TransientFailure) as second:
            self._send(provider)
        assert first.value.retry_after is None
        assert second.value.retry_after == 2.0
        assert len(provider.requests_to(self.send_path)) == 2

    def test_a_refusal_is_permanent_and_says_why(self, provider: ProviderServer) -> None:
        provider.script(self.send_path, self.rejection)
        with pytest.raises(PermanentFailure) as failure:
            self._send(provider)
        assert self.rejection_text in failure.value.reason
        assert str(self.rejection.status) in failure.value.reason

    def test_a_provider_that_does_not_answer_in_time_is_transient(
        self, provider: ProviderServer
    ) -> None:
        provider.script(self.send_path, Reply(200, {}, delay=1.5))
        started = time.monotonic()
        with pytest.raises(TransientFailure) as failure:
            self._send(provider, timeout=0.3)
        assert time.monotonic() - started < 1.4
        assert "timed out" in failure.value.reason

    def test_a_provider_that_refuses_connections_is_transient(
        self, provider: ProviderServer
    ) -> None:
        with pytest.raises(TransientFailure) as failure:
            self._send(provider, base_url=f"http://127.0.0.1:{refused_port()}")
        assert "unreachable" in failure.value.reason
