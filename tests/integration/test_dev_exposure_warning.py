"""``smartqueue dev`` warns, loudly, when it listens beyond this machine while the demo tenant's
published passwords still sign in; on loopback, or once they are changed, it says nothing."""

from __future__ import annotations

import uuid

import pytest

from application.context import CommandContext
from application.demo import seed_demo_data
from infrastructure.container import Container
from interfaces.cli import demo_sign_ins
from interfaces.dev_exposure import exposure_warning, is_loopback, warn_if_exposed

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104  (what the tests are about)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"])
def test_loopback_addresses_stay_on_this_machine(host: str):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [EVERY_INTERFACE, "::", "192.168.1.20", "10.0.0.5", "2001:db8::1", "queue.example.org", ""],
)
def test_any_other_address_or_name_may_be_reachable_from_elsewhere(host: str):
    assert not is_loopback(host)


@pytest.fixture
def demo(container: Container) -> dict[str, str]:
    """A demo tenant as ``smartqueue dev`` makes it (under a slug of its own for this test)."""
    slug = f"demo-{uuid.uuid4().hex[:10]}"
    demo = {"name": "Demo", "slug": slug, "email": f"admin@{slug}.com", "password": "admin123"}
    tenant_id, _ = container.identity.create_tenant(
        CommandContext.system(None), slug, demo["name"], demo["email"], demo["password"]
    )
    seed_demo_data(container, CommandContext.system(tenant_id), slug)
    return demo


def _change_password(container: Container, email: str) -> None:
    credential = container.identity.credentials.find_by_email(email)
    assert credential is not None
    new_hash = container.identity.hasher.hash(uuid.uuid4().hex)
    container.identity.credentials.replace_hash(credential.tenant_id, credential.user_id, new_hash)


def test_listening_on_every_interface_with_the_demo_passwords_names_the_open_accounts(
    container: Container, demo: dict[str, str]
):
    warning = exposure_warning(container.identity, EVERY_INTERFACE, demo)

    assert warning is not None
    assert EVERY_INTERFACE in warning
    assert demo["email"] in warning
    assert f"agent1@{demo['slug']}.example" in warning
    assert f"agent2@{demo['slug']}.example" in warning
    assert "127.0.0.1" in warning  # the way out: bind to loopback, or change the passwords


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_on_loopback_there_is_no_warning(container: Container, demo: dict[str, str], host: str):
    assert exposure_warning(container.identity, host, demo) is None


def test_accounts_whose_passwords_were_changed_are_no_longer_named(
    container: Container, demo: dict[str, str]
):
    _change_password(container, demo["email"])
    _change_password(container, f"agent1@{demo['slug']}.example")

    warning = exposure_warning(container.identity, "192.168.1.20", demo)

    assert warning is not None
    assert f"agent2@{demo['slug']}.example" in warning
    assert demo["email"] not in warning
    assert f"agent1@{demo['slug']}.example" not in warning

    _change_password(container, f"agent2@{demo['slug']}.example")
    assert exposure_warning(container.identity, "192.168.1.20", demo) is None


def test_without_a_demo_tenant_there_is_no_warning(container: Container):
    slug = f"demo-{uuid.uuid4().hex[:10]}"
    absent = {"name": "Demo", "slug": slug, "email": f"admin@{slug}.com", "password": "admin123"}

    assert exposure_warning(container.identity, EVERY_INTERFACE, absent) is None


def test_the_warning_is_printed_on_standard_error(
    container: Container, demo: dict[str, str], capsys: pytest.CaptureFixture[str]
):
    warn_if_exposed(container.identity, EVERY_INTERFACE, demo)
    warn_if_exposed(container.identity, "127.0.0.1", demo)

    printed = capsys.readouterr()
    assert printed.err.count("WARNING") == 1
    assert demo["email"] in printed.err
    assert printed.out == ""


def test_dev_names_the_dashboard_with_the_admins_sign_in_and_the_console_with_the_agents(
    container: Container, demo: dict[str, str]
):
    printed = demo_sign_ins(container.identity, "http://127.0.0.1:8000", demo)

    slug, admin = demo["slug"], f"{demo['email']} / {demo['password']}"
    assert f"manager dashboard: http://127.0.0.1:8000/dashboard/{slug}/  sign in as {admin}\n" in (
        printed
    )
    agents = f"agent1@{slug}.example / agent1-{slug} or agent2@{slug}.example / agent2-{slug}"
    assert f"agent console: http://127.0.0.1:8000/console/{slug}/  sign in as {agents}\n" in printed


def test_dev_names_only_the_demo_sign_ins_that_still_work(
    container: Container, demo: dict[str, str]
):
    slug = demo["slug"]
    _change_password(container, demo["email"])
    _change_password(container, f"agent1@{slug}.example")

    printed = demo_sign_ins(container.identity, "http://127.0.0.1:8000", demo)

    assert "dashboard" not in printed
    assert f"/console/{slug}/  sign in as agent2@{slug}.example / agent2-{slug}\n" in printed
    _change_password(container, f"agent2@{slug}.example")
    assert demo_sign_ins(container.identity, "http://127.0.0.1:8000", demo) == ""
