"""The analytics sink's settings, read from the environment like every other group
(:mod:`infrastructure.settings.variables`): a bad value names its variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infrastructure.settings.variables import (
    Interval,
    Positive,
    SettingsError,
    env,
    group_variables,
    read_group,
)

DEFAULT_FILE = Path("analytics") / "events.duckdb"
"""Where the DuckDB file goes under SMARTQUEUE_HOME when SMARTQUEUE_ANALYTICS_SINK_PATH is unset."""


@dataclass(frozen=True)
class AnalyticsSinkSettings:
    """Where ``smartqueue analytics-sink`` keeps the events and how it reads them."""

    path: str | None = env("SMARTQUEUE_ANALYTICS_SINK_PATH", None)
    """SMARTQUEUE_ANALYTICS_SINK_PATH: the DuckDB file (default
    ``$SMARTQUEUE_HOME/analytics/events.duckdb``); its offsets live in it too."""
    group: str = env("SMARTQUEUE_ANALYTICS_SINK_GROUP", "smartqueue-analytics-sink")
    """SMARTQUEUE_ANALYTICS_SINK_GROUP: the Kafka consumer group id the sink mirrors its offsets
    under, for lag tools (one per DuckDB file); the sink never joins it, it reads every
    partition itself."""
    batch_size: Positive = env("SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE", 500)
    """SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE: records a poll hands over, stored in one DuckDB
    transaction with their offsets (default 500)."""
    status_seconds: Interval = env("SMARTQUEUE_ANALYTICS_SINK_STATUS_SECONDS", 10.0)
    """SMARTQUEUE_ANALYTICS_SINK_STATUS_SECONDS: how often the sink logs and writes how far
    behind it is (default 10)."""

    def database_path(self, home: Path) -> Path:
        """The DuckDB file: the setting, else under ``home`` (SMARTQUEUE_HOME)."""
        return Path(self.path).expanduser().resolve() if self.path else home / DEFAULT_FILE


def load_sink_settings(environ: Mapping[str, str] | None = None) -> AnalyticsSinkSettings:
    """The sink's settings from ``environ`` (``os.environ`` unless given); raises
    :class:`SettingsError` naming every variable with a bad value."""
    problems: list[str] = []
    loaded = read_group(AnalyticsSinkSettings, os.environ if environ is None else environ, problems)
    if loaded is None:
        raise SettingsError(problems)
    return loaded


def sink_variables() -> list[str]:
    """The environment variables the sink reads."""
    return list(group_variables(AnalyticsSinkSettings))
