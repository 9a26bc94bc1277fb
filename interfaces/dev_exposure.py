"""``smartqueue dev`` on an address other machines can reach, with the demo tenant's published
passwords still working, hands that tenant to anyone on the network: say so, loudly."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import click

from application.demo import known_demo_logins, logins_that_still_work
from application.identity import Identity


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine (``127.0.0.0/8``, ``::1``,
    ``localhost``). A wildcard (``0.0.0.0``, ``::``), another address or any other name may be
    reachable from elsewhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(identity: Identity, host: str, demo: Mapping[str, str]) -> str | None:
    """The warning to print when serving on ``host`` while accounts of the demo tenant
    (``demo``: its ``slug``, ``email``, ``password``) still sign in with their published
    passwords; None on loopback or when none does."""
    if is_loopback(host):
        return None
    logins = known_demo_logins(demo["slug"], demo["email"], demo["password"])
    still_open = logins_that_still_work(identity, logins)
    if not still_open:
        return None
    return (
        f"WARNING: listening on {host}, reachable from other machines, while these demo"
        f" accounts still sign in with their published passwords: {', '.join(still_open)}."
        " Anyone who can reach this port can sign in as them. Bind to 127.0.0.1 (--host"
        " 127.0.0.1), change those passwords, or start with --no-demo on fresh data."
    )


def warn_if_exposed(identity: Identity, host: str, demo: Mapping[str, str]) -> None:
    """Print :func:`exposure_warning` on standard error, in red on a terminal, if there is one."""
    warning = exposure_warning(identity, host, demo)
    if warning is not None:
        click.secho(warning, err=True, fg="red", bold=True)
