"""The token leeway setting: 30 s by default, bounded, a bad value names its variable."""

from __future__ import annotations

import pytest

from infrastructure.settings import load_settings


def test_the_leeway_defaults_to_thirty_seconds_and_follows_its_variable():
    assert load_settings({}).auth.jwt_leeway_seconds == 30
    assert load_settings({"SMARTQUEUE_JWT_LEEWAY_SECONDS": "0"}).auth.jwt_leeway_seconds == 0


@pytest.mark.parametrize("value", ["-1", "301", "soon"])
def test_a_bad_leeway_is_refused_naming_the_variable(value):
    with pytest.raises(ValueError, match="SMARTQUEUE_JWT_LEEWAY_SECONDS"):
        load_settings({"SMARTQUEUE_JWT_LEEWAY_SECONDS": value})
