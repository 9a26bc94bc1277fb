"""Push goes through FCM when ``SMARTQUEUE_FCM_CREDENTIALS_FILE`` names a usable service-account
key file, and to the console otherwise; a file that cannot serve stops start-up with an error
naming the variable and what is wrong with the file."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infrastructure.notify.fcm import FcmChannel
from infrastructure.notify.wiring import configured_channels, fcm_account
from infrastructure.settings import load_settings
from tests.provider_servers import CLIENT_EMAIL, PROJECT, service_account_key

VARIABLE = "SMARTQUEUE_FCM_CREDENTIALS_FILE"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_file(folder: Path, content: object) -> Path:
    path = folder / "service-account.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ValueError) as refused:
        load_settings(environ)
    return str(refused.value)


def test_an_unreadable_key_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    message = refusal({VARIABLE: str(missing)})
    assert f"{VARIABLE} must be a readable Google service-account key file" in message
    assert str(missing) in message
    assert "cannot read it: No such file or directory" in message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"client_email": None}, "it has no client_email"),
        ({"project_id": ""}, "it has no project_id"),
        ({"private_key": None}, "it has no private_key"),
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
            "its private_key is not an unencrypted PEM private key",
        ),
    ],
)
def test_a_key_file_without_what_fcm_needs_says_what_is_missing(
    tmp_path: Path, key: rsa.RSAPrivateKey, change: dict, reason: str
) -> None:
    content = {**service_account_key(key, "https://oauth2.example/token"), **change}
    content = {name: value for name, value in content.items() if value is not None}
    message = refusal({VARIABLE: str(key_file(tmp_path, content))})
    assert VARIABLE in message
    assert f"({reason})" in message
    assert "BEGIN PRIVATE KEY" not in message  # the key itself is never echoed


@pytest.mark.parametrize(("content", "reason"), [("{not json", "not JSON"), ("[1]", "object")])
def test_a_key_file_that_is_not_a_json_object_is_refused(
    tmp_path: Path, content: str, reason: str
) -> None:
    assert reason in refusal({VARIABLE: str(key_file(tmp_path, content))})


def test_without_a_key_file_push_goes_to_the_console() -> None:
    assert "push" not in configured_channels(load_settings({}).notify)


def test_with_a_key_file_push_goes_through_fcm_with_the_settings_overrides(
    tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    path = key_file(tmp_path, service_account_key(key, "https://oauth2.googleapis.com/token"))
    plain = load_settings({VARIABLE: str(path)}).notify
    assert plain.fcm_credentials_file == str(path.resolve())
    account = fcm_account(plain)
    assert (account.project_id, account.client_email) == (PROJECT, CLIENT_EMAIL)
    assert account.token_uri == "https://oauth2.googleapis.com/token"

    overridden = load_settings(
        {
            VARIABLE: str(path),
            "SMARTQUEUE_FCM_PROJECT_ID": "other-project",
            "SMARTQUEUE_FCM_TOKEN_URL": "http://127.0.0.1:9/token",
            "SMARTQUEUE_FCM_BASE_URL": "http://127.0.0.1:9",
        }
    ).notify
    account = fcm_account(overridden)
    assert (account.project_id, account.token_uri) == ("other-project", "http://127.0.0.1:9/token")
    channels = configured_channels(overridden)
    try:
        assert isinstance(channels["push"], FcmChannel)
        assert channels["push"]._url == (
            "http://127.0.0.1:9/v1/projects/other-project/messages:send"
        )
    finally:
        channels["push"].close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("argv", [["jobs"], ["notifier"], ["api"]], ids=" ".join)
def test_the_roles_do_not_start_with_an_unusable_key_file(argv: list[str], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from infrastructure.settings import current_settings
    from interfaces.cli import main

    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    current_settings.cache_clear()
    try:
        path = key_file(tmp_path, {"project_id": PROJECT})
        result = CliRunner().invoke(main, argv, env={VARIABLE: str(path)})
    finally:
        current_settings.cache_clear()
        for signum, handler in handlers.items():  # the roles set their own
            signal.signal(signum, handler)
    assert result.exit_code == 1
    assert f"{VARIABLE} must be a readable Google service-account key file" in result.output
    assert "(it has no client_email)" in result.output
    assert "Traceback" not in result.output
