"""docs/configuration.md names every environment variable the settings read, so an operator
never meets a setting only in the code."""

from __future__ import annotations

import re
from pathlib import Path

import infrastructure.settings
from infrastructure.settings import variables

ROOT = Path(__file__).parents[2]
VARIABLE = re.compile(r'"((?:SMARTQUEUE|DATABASE|MIGRATION|REDIS|KAFKA)_[A-Z0-9_]+)"')


def test_every_setting_read_from_the_environment_is_documented():
    package = Path(infrastructure.settings.__file__).parent
    source = "".join(module.read_text() for module in sorted(package.glob("*.py")))
    read = set(VARIABLE.findall(source))
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert len(read) > 30, "the settings package reads fewer variables than expected: pattern?"
    assert read == set(variables()), "a variable is read in a way the pattern does not see"
    assert sorted(name for name in read if f"`{name}`" not in documented) == []


def test_the_analytics_sinks_settings_are_documented_too():
    from infrastructure.analytics.settings import sink_variables

    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert sink_variables()
    assert sorted(name for name in sink_variables() if f"`{name}`" not in documented) == []
