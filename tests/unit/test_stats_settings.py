"""The SLA rule of the queue statistics comes from the environment."""

from __future__ import annotations

import pytest

from infrastructure.read_models.queue_stats import sla_rule
from infrastructure.settings import load_settings
from projections.queue_day import SlaRule


def test_by_default_abandoned_tickets_and_no_shows_count_towards_sla():
    assert sla_rule(load_settings({}).stats) == SlaRule(count_abandoned=True, count_no_show=True)


def test_either_rule_can_be_turned_off():
    settings = load_settings(
        {"SMARTQUEUE_SLA_COUNT_ABANDONED": "false", "SMARTQUEUE_SLA_COUNT_NO_SHOW": "0"}
    )
    assert sla_rule(settings.stats) == SlaRule(count_abandoned=False, count_no_show=False)


def test_a_value_that_is_not_a_boolean_is_refused_with_the_variable_named():
    with pytest.raises(ValueError, match="SMARTQUEUE_SLA_COUNT_NO_SHOW"):
        load_settings({"SMARTQUEUE_SLA_COUNT_NO_SHOW": "sometimes"})
