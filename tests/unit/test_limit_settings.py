"""Rate limits, the waiting-line cap and trusted proxies come from the environment; a bad value
names its variable, and no proxy is trusted unless one is named."""

from __future__ import annotations

import pytest

from infrastructure.settings import load_settings
from interfaces.cli import proxy_options


def test_defaults_limit_tokens_kiosks_and_queues_and_trust_no_proxy():
    settings = load_settings({})
    assert settings.limits.api_per_access == "600/minute"
    assert settings.limits.kiosk_per_device == "30/minute"
    assert settings.limits.kiosk_per_queue == "120/minute"
    assert settings.limits.queue_max_waiting == 500
    assert settings.proxies.trusted == ()
    assert proxy_options(settings) == {"proxy_headers": False}


def test_named_proxies_are_handed_to_uvicorn():
    settings = load_settings({"SMARTQUEUE_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,::1"})
    assert settings.proxies.trusted == ("10.0.0.0/8", "192.168.1.7", "::1")
    assert proxy_options(settings) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.0/8", "192.168.1.7", "::1"],
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMARTQUEUE_API_LIMIT_TOKEN", "lots"),
        ("SMARTQUEUE_KIOSK_LIMIT_DEVICE", "30 per fortnight"),
        ("SMARTQUEUE_KIOSK_LIMIT_QUEUE", "-"),
        ("SMARTQUEUE_QUEUE_MAX_WAITING", "-1"),
        ("SMARTQUEUE_TRUSTED_PROXIES", "10.0.0.0/8,proxy.example"),
    ],
)
def test_a_bad_value_is_refused_with_its_variable_named(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})
