"""What an HTTP provider's answer means for a delivery: one mapping for every HTTP channel."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from application.delivery import PermanentFailure, TransientFailure

DEFAULT_TIMEOUT = 10.0
"""Seconds for each of connect, read, write and pool wait, unless a channel is told otherwise."""

ERROR_TEXT_LIMIT = 500
"""Characters of a provider's error body kept in a failure (ledgers and logs stay small)."""

# A request that timed out may simply be retried; so may a rate limit.
_RETRYABLE_4XX = frozenset({408, 425, 429})


class ProviderRefused(PermanentFailure):
    """A provider's final ``4xx`` answer; ``status`` lets a channel react to one (FCM's 401)."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


def http_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """A sync client for one channel: bounded timeouts, no redirects followed."""
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)


def post(
    client: httpx.Client,
    url: str,
    provider: str,
    *,
    error_text: Callable[[httpx.Response], str] | None = None,
    **request: Any,
) -> httpx.Response:
    """POST and return a 2xx response; otherwise raise the failure the answer means.

    Timeouts and unreachable servers are transient; so are 408, 429 and 5xx (with the provider's
    ``Retry-After`` when it sent one). Any other answer is permanent, with the provider's text.
    """
    try:
        response = client.post(url, **request)
    except httpx.InvalidURL as error:
        raise PermanentFailure(f"{provider}: invalid URL ({error})") from None
    except httpx.UnsupportedProtocol as error:
        raise PermanentFailure(f"{provider}: unsupported URL ({error})") from None
    except httpx.TimeoutException as error:
        raise TransientFailure(f"{provider}: timed out ({type(error).__name__})") from None
    except httpx.TransportError as error:
        raise TransientFailure(f"{provider}: unreachable ({error})") from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    text = (error_text or body_text)(response)
    reason = f"{provider}: HTTP {status}: {text}"
    if status in _RETRYABLE_4XX or status >= 500:
        raise TransientFailure(reason, retry_after=retry_after(response))
    raise ProviderRefused(reason, status)


def body_text(response: httpx.Response) -> str:
    """The start of the response body, as text."""
    return response.text[:ERROR_TEXT_LIMIT]


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP date), if given and valid."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
