"""docs/configuration.md names every environment variable the settings read, so an operator
never meets a setting only in the code."""

from __future__ import annotations

import re
from pathlib import Path

import infrastructure.settings

ROOT = Path(__file__).parents[2]
VARIABLE = re.compile(r'"((?:SMARTQUEUE|DATABASE|MIGRATION|REDIS|KAFKA)_[A-Z0-9_]+)"')


def test_every_setting_read_from_the_environment_is_documented():
    source = Path(infrastructure.settings.__file__).read_text()
    read = set(VARIABLE.findall(source))
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert len(read) > 30, "the settings module reads fewer variables than expected: pattern?"
    assert sorted(name for name in read if f"`{name}`" not in documented) == []
