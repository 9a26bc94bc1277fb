"""The readiness status: unavailable without PostgreSQL or Redis, degraded when a role lags."""

from __future__ import annotations

from application.readiness import Readiness

STORES_UP = {"postgresql": "ok", "redis": "ok"}


def test_a_process_whose_stores_answer_and_roles_keep_up_is_ok():
    found = Readiness(dict(STORES_UP), roles={"tickets": "ok"}, dead_letters={})

    assert (found.ready, found.status) == (True, "ok")


def test_a_process_without_redis_is_unavailable_whatever_its_roles():
    found = Readiness({"postgresql": "ok", "redis": "unavailable: ConnectionError"})

    assert (found.ready, found.status) == (False, "unavailable")


def test_a_lagging_role_a_dead_letter_or_a_silent_gateway_degrades_a_ready_process():
    lagging = Readiness(dict(STORES_UP), roles={"tickets": "behind: 40 events"})
    letters = Readiness(dict(STORES_UP), roles={"tickets": "ok"}, dead_letters={"audit": 1})
    silent = Readiness({**STORES_UP, "kafka": "ok", "display_gateway": "silent"})

    assert [r.status for r in (lagging, letters, silent)] == ["degraded"] * 3
    assert all(r.ready for r in (lagging, letters, silent))


def test_an_unreachable_broker_neither_degrades_nor_unreadies_the_api():
    found = Readiness({**STORES_UP, "kafka": "unreachable", "display_gateway": "ok"})

    assert found.status == "ok"
