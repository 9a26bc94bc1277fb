"""The supervisor of the roles' threads: a dead loop is started again with back-off; one that
keeps dying makes the role give up (and so exit non-zero)."""

from __future__ import annotations

import itertools
import threading
import time

from infrastructure.roles.supervisor import Supervisor


def _until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_loop_that_dies_is_started_again_and_the_role_keeps_running():
    stop = threading.Event()
    runs: list[int] = []
    finished = threading.Event()

    def flaky(role_stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("an unexpected bug")
        finished.set()
        role_stop.wait()

    supervisor = Supervisor(stop, backoff_seconds=0.01)
    supervisor.add("flaky", flaky)
    try:
        assert finished.wait(10)
        [status] = supervisor.statuses()
        assert status.state == "running"
        assert status.restarts == 2
        assert status.last_error == "RuntimeError: an unexpected bug"
        assert not supervisor.gave_up.is_set()
    finally:
        stop.set()
        supervisor.join(5)


def test_a_loop_that_returns_while_the_role_runs_counts_as_dead():
    stop = threading.Event()
    runs: list[int] = []

    def quits(role_stop: threading.Event) -> None:
        runs.append(1)
        if len(runs) > 1:
            role_stop.wait()

    supervisor = Supervisor(stop, backoff_seconds=0.01)
    supervisor.add("quits", quits)
    try:
        _until(lambda: len(runs) == 2)
        assert supervisor.statuses()[0].last_error == "returned while the role was running"
    finally:
        stop.set()
        supervisor.join(5)


def test_a_loop_that_keeps_dying_makes_the_role_give_up_and_stop():
    stop = threading.Event()
    steady_stopped = threading.Event()

    def broken(role_stop: threading.Event) -> None:
        raise ValueError("always")

    def steady(role_stop: threading.Event) -> None:
        role_stop.wait()
        steady_stopped.set()

    supervisor = Supervisor(stop, max_restarts=3, backoff_seconds=0.01)
    supervisor.add("steady", steady)
    supervisor.add("broken", broken)
    assert supervisor.gave_up.wait(10)
    assert stop.wait(5)  # the whole role stops, for the process to exit non-zero
    assert steady_stopped.wait(5)
    broken_status = supervisor.statuses()[1]
    assert broken_status.state == "failed"
    assert broken_status.restarts == 3


def test_the_back_off_doubles_with_each_failure_in_a_row():
    stop = threading.Event()
    started: list[float] = []

    def broken(role_stop: threading.Event) -> None:
        started.append(time.monotonic())
        raise ValueError("again")

    supervisor = Supervisor(stop, max_restarts=3, backoff_seconds=0.2)
    supervisor.add("broken", broken)
    try:
        assert supervisor.gave_up.wait(20)
    finally:
        stop.set()
        supervisor.join(5)
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8
