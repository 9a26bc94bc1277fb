"""Settings: one frozen dataclass per concern, every field read from an environment variable,
typed and checked when loaded; a process loads them once (:func:`current_settings`).

A new setting is a field ``name: Type = env("SMARTQUEUE_...", default)`` with a docstring, in
``connections.py`` (what a process connects to) or ``behaviour.py`` (how it behaves), and a line
in docs/configuration.md."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import get_type_hints

from infrastructure.settings.behaviour import (
    DeviceSettings,
    EtaSettings,
    IdempotencySettings,
    LimitSettings,
    LiveSettings,
    ProxySettings,
    PublicSettings,
    ReadSettings,
    StatsSettings,
    SupervisionSettings,
)
from infrastructure.settings.connections import (
    MAX_JWT_LEEWAY_SECONDS,
    AuthSettings,
    DatabaseSettings,
    HttpSettings,
    KafkaSettings,
    LogSettings,
    RedisSettings,
)
from infrastructure.settings.notify import NotifySettings
from infrastructure.settings.variables import SettingsError, group_variables, read_group

__all__ = [
    "MAX_JWT_LEEWAY_SECONDS",
    "AuthSettings",
    "DatabaseSettings",
    "DeviceSettings",
    "EtaSettings",
    "HttpSettings",
    "IdempotencySettings",
    "KafkaSettings",
    "LimitSettings",
    "LiveSettings",
    "LogSettings",
    "NotifySettings",
    "ProxySettings",
    "PublicSettings",
    "ReadSettings",
    "RedisSettings",
    "Settings",
    "SettingsError",
    "StatsSettings",
    "SupervisionSettings",
    "current_settings",
    "load_settings",
    "variables",
]

HOME = "SMARTQUEUE_HOME"


@dataclass(frozen=True)
class Settings:
    """Everything a SmartQueue process is configured with."""

    home: Path
    """SMARTQUEUE_HOME: local data of the embedded services (default ./var)."""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    log: LogSettings = field(default_factory=LogSettings)
    idempotency: IdempotencySettings = field(default_factory=IdempotencySettings)
    read: ReadSettings = field(default_factory=ReadSettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    proxies: ProxySettings = field(default_factory=ProxySettings)
    public: PublicSettings = field(default_factory=PublicSettings)
    eta: EtaSettings = field(default_factory=EtaSettings)
    supervision: SupervisionSettings = field(default_factory=SupervisionSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)


def _groups() -> dict[str, type]:
    hints = get_type_hints(Settings)
    return {item.name: hints[item.name] for item in fields(Settings) if item.name != "home"}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (``os.environ`` unless given). Raises
    :class:`SettingsError` (a ValueError) listing every variable with a bad value."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    groups = {name: read_group(cls, env, problems) for name, cls in _groups().items()}
    if problems:
        raise SettingsError(problems)
    home = Path(env.get(HOME) or "./var").expanduser().resolve()
    return Settings(home=home, **groups)  # type: ignore[arg-type]


@functools.cache
def current_settings() -> Settings:
    """This process's settings, read from ``os.environ`` on first use and then kept."""
    return load_settings()


def variables(*, typed_only: bool = False) -> Iterator[str]:
    """Every environment variable the settings read (with ``typed_only``, those whose value is
    checked rather than taken as free text)."""
    if not typed_only:
        yield HOME
    for cls in _groups().values():
        yield from group_variables(cls, typed_only=typed_only)
