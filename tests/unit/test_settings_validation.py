"""A bad setting stops start-up with one error that names the variable and the form it expects;
several bad values are reported together."""

from __future__ import annotations

import pytest

from infrastructure.settings import load_settings

# Every numeric, enumerated, rate, network and flag variable, with values it must refuse and
# words of the form the error must state.
BAD_VALUES = {
    "SMARTQUEUE_DB_POOL_SIZE": (["ten", "0", "-3", "2.5"], "whole number, 1 or more"),
    "SMARTQUEUE_AGGREGATE_CACHE_SIZE": (["many", "-1", "2.5"], "whole number, 0 or more"),
    "SMARTQUEUE_PORT": (["http", "0", "65536"], "whole number from 1 to 65535"),
    "SMARTQUEUE_API_WORKERS": (["many", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_TOKEN_TTL_SECONDS": (["15m", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_REFRESH_TTL_SECONDS": (["12h", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_JWT_LEEWAY_SECONDS": (["soon", "-1", "301"], "whole number from 0 to 300"),
    "SMARTQUEUE_LOGIN_LIMIT_ACCOUNT": (["lots", "ten/5minutes"], "rate such as 30/minute"),
    "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": (["-"], "rate such as 30/minute"),
    "SMARTQUEUE_LOG_FORMAT": (["yaml", "JSON"], "one of auto, json, console"),
    "SMARTQUEUE_RECORDER": (["fast", "Stock"], "one of stock, concurrent"),
    "SMARTQUEUE_LOG_LEVEL": (["loud", "verbose"], "log level"),
    "SMARTQUEUE_IDEMPOTENCY_WAIT_SECONDS": (["five", "-1", "inf", "nan"], "seconds, 0 or more"),
    "SMARTQUEUE_IDEMPOTENCY_LEASE_SECONDS": (["a minute", "0"], "seconds, more than 0"),
    "SMARTQUEUE_IDEMPOTENCY_TTL_SECONDS": (["day", "0"], "seconds, more than 0"),
    "SMARTQUEUE_READ_WAIT_SECONDS": (["3s", "-0.5"], "seconds, 0 or more"),
    "SMARTQUEUE_SLA_COUNT_ABANDONED": (["maybe", "2"], "true or false"),
    "SMARTQUEUE_WEBHOOKS_ALLOW_PRIVATE": (["sometimes", "2"], "true or false"),
    "SMARTQUEUE_SLA_COUNT_NO_SHOW": (["sometimes"], "true or false"),
    "KAFKA_TOPIC_PARTITIONS": (["three", "0"], "whole number, 1 or more"),
    "KAFKA_REPLICATION_FACTOR": (["one", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_RELAY_BATCH_SIZE": (["big", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_RELAY_ACK_TIMEOUT_SECONDS": (["30s", "0"], "seconds, more than 0"),
    "SMARTQUEUE_RELAY_BACKOFF_SECONDS": (["short", "0", "inf"], "seconds, more than 0"),
    "SMARTQUEUE_DEVICE_PRESENCE_SECONDS": (["1m", "0"], "seconds, more than 0"),
    "SMARTQUEUE_WORKER_INTERVAL_SECONDS": (["often", "0"], "seconds, more than 0"),
    "SMARTQUEUE_WS_TICKET_SECONDS": (["half", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_WS_TOKEN_CHECK_SECONDS": (["often", "0"], "seconds, more than 0"),
    "SMARTQUEUE_WS_BACKLOG": (["deep", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_WS_MAX_PER_TOKEN": (["twenty", "-1"], "whole number, 0 or more"),
    "SMARTQUEUE_API_LIMIT_TOKEN": (["lots"], "rate such as 30/minute"),
    "SMARTQUEUE_KIOSK_LIMIT_DEVICE": (["30 per fortnight"], "rate such as 30/minute"),
    "SMARTQUEUE_KIOSK_LIMIT_QUEUE": (["-"], "rate such as 30/minute"),
    "SMARTQUEUE_QUEUE_MAX_WAITING": (["-1", "full"], "whole number, 0 or more"),
    "SMARTQUEUE_PUBLIC_LIMIT_ADDRESS": (["lots"], "rate such as 30/minute"),
    "SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS": (["often"], "rate such as 30/minute"),
    "SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE": (["-"], "rate such as 30/minute"),
    "SMARTQUEUE_PUBLIC_CODE_LIMIT_ADDRESS": (["often"], "rate such as 30/minute"),
    "SMARTQUEUE_PUBLIC_CODE_LIMIT_PHONE": (["-"], "rate such as 30/minute"),
    "SMARTQUEUE_PUBLIC_JOIN_CODE_TTL_SECONDS": (["0", "soon"], "whole number, 1 or more"),
    "SMARTQUEUE_MORE_TIME_PLACES": (["0", "three"], "whole number, 1 or more"),
    "SMARTQUEUE_TRUSTED_PROXIES": (["10.0.0.0/8,proxy.example", "10.0.0.0/33"], "CIDR"),
    "SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS": (["soon", "-5", "inf", "nan"], "seconds, 0 or more"),
    "SMARTQUEUE_PROJECTION_MAX_ATTEMPTS": (["thrice", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_MAX_THREAD_RESTARTS": (["five", "-1"], "whole number, 0 or more"),
    "SMARTQUEUE_ROLE_SILENT_SECONDS": (["half a minute", "0"], "seconds, more than 0"),
    "SMARTQUEUE_MAX_LAG": (["1k", "-1"], "whole number, 0 or more"),
    "SMARTQUEUE_JOBS_THREADS": (["four", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_NOTIFY_NEAR_POSITION": (["third", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_NOTIFY_MAX_ATTEMPTS": (["5x", "0"], "whole number, 1 or more"),
    "SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS": (["0", "inf"], "seconds, more than 0"),
    "SMARTQUEUE_NOTIFY_FACTS_TTL_SECONDS": (["0", "inf"], "seconds, more than 0"),
    "SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS": (["-1", "long"], "seconds, more than 0"),
    "SMARTQUEUE_AUTO_NO_SHOW_SWEEP_SECONDS": (["0", "soon"], "seconds, more than 0"),
    "SMARTQUEUE_APPOINTMENT_NO_SHOW_SWEEP_SECONDS": (["-5", "hourly"], "seconds, more than 0"),
    "SMARTQUEUE_SMTP_PORT": (["smtp", "0", "70000"], "whole number from 1 to 65535"),
    "SMARTQUEUE_SMTP_SECURITY": (["ssl"], "one of starttls, tls, none"),
    "SMARTQUEUE_FCM_CREDENTIALS_FILE": (["/nonexistent/key.json"], "service-account key file"),
}


@pytest.mark.parametrize(
    ("name", "value", "form"),
    [(name, value, form) for name, (values, form) in BAD_VALUES.items() for value in values],
)
def test_a_bad_value_is_refused_naming_its_variable_and_the_expected_form(name, value, form):
    with pytest.raises(ValueError) as refused:
        load_settings({name: value})
    message = str(refused.value)
    assert name in message
    assert form in message
    assert repr(value) in message


def test_several_bad_values_are_reported_at_once():
    with pytest.raises(ValueError) as refused:
        load_settings({"SMARTQUEUE_PORT": "http", "KAFKA_TOPIC_PARTITIONS": "0"})
    message = str(refused.value)
    assert "SMARTQUEUE_PORT" in message
    assert "KAFKA_TOPIC_PARTITIONS" in message


def test_a_short_signing_key_is_refused_without_being_echoed():
    secret = "too-short-to-sign-with"
    with pytest.raises(ValueError, match="SMARTQUEUE_JWT_SECRET must be at least 32 bytes") as no:
        load_settings({"SMARTQUEUE_JWT_SECRET": secret})
    assert secret not in str(no.value)


def test_every_typed_variable_has_bad_values_tested():
    from infrastructure.settings import variables

    tested = {*BAD_VALUES, "SMARTQUEUE_JWT_SECRET"}
    assert sorted(variables(typed_only=True)) == sorted(tested)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SMARTQUEUE_PORT": " 8080 "}, ("http", "port", 8080)),
        ({"SMARTQUEUE_PORT": ""}, ("http", "port", 8000)),
        ({"SMARTQUEUE_RELAY_BACKOFF_SECONDS": "0.2"}, ("kafka", "retry_backoff_seconds", 0.2)),
        ({"SMARTQUEUE_LOG_LEVEL": "warning"}, ("log", "level", "WARNING")),
        ({"SMARTQUEUE_LOG_FORMAT": "console"}, ("log", "format", "console")),
        ({"SMARTQUEUE_SLA_COUNT_NO_SHOW": "off"}, ("stats", "sla_count_no_show", False)),
        ({"SMARTQUEUE_WS_MAX_PER_TOKEN": "0"}, ("live", "max_sockets_per_token", 0)),
        ({"SMARTQUEUE_HOST": "0.0.0.0"}, ("http", "host", "0.0.0.0")),  # noqa: S104
        ({"DATABASE_URL": ""}, ("database", "url", None)),
    ],
)
def test_good_values_are_read_as_before(environ, expected):
    group, name, value = expected
    assert getattr(getattr(load_settings(environ), group), name) == value


def test_the_api_runs_a_process_per_usable_core_unless_told(monkeypatch):
    import os

    from infrastructure.settings import connections

    assert load_settings({}).http.workers == len(os.sched_getaffinity(0))
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2})
    assert connections.usable_cores() == 3  # a container's narrower affinity is what counts
    assert load_settings({"SMARTQUEUE_API_WORKERS": "5"}).http.workers == 5
