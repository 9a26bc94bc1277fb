"""The worker role: one active process runs the periodic jobs; a standby takes over."""

from __future__ import annotations

import threading
import time

from infrastructure.roles.worker import PeriodicJob, Worker
from interfaces.worker_cli import worker_jobs


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_one_worker_runs_the_jobs_and_a_standby_takes_over_when_it_stops(database_url):
    runs = {"first": 0, "second": 0}

    def job(name: str) -> PeriodicJob:
        return PeriodicJob("count", 0.05, lambda: runs.__setitem__(name, runs[name] + 1))

    first = Worker(database_url, [job("first")], standby_interval=0.1)
    second = Worker(database_url, [job("second")], standby_interval=0.1)
    stop_first, stop_second = threading.Event(), threading.Event()
    threading.Thread(target=first.run, args=(stop_first,), daemon=True).start()
    assert _wait_for(first.active.is_set)
    threading.Thread(target=second.run, args=(stop_second,), daemon=True).start()
    try:
        assert _wait_for(lambda: runs["first"] >= 5)
        assert not second.active.is_set() and runs["second"] == 0

        stop_first.set()  # the holder stops: its session ends and releases the lock

        assert _wait_for(second.active.is_set)
        assert _wait_for(lambda: runs["second"] >= 3)
        assert not first.active.is_set()
    finally:
        stop_first.set()
        stop_second.set()


def test_a_failing_job_does_not_stop_the_others(database_url):
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    worker = Worker(
        database_url,
        [PeriodicJob("fails", 0.05, fail), PeriodicJob("works", 0.05, done.set)],
        standby_interval=0.1,
    )
    stop = threading.Event()
    threading.Thread(target=worker.run, args=(stop,), daemon=True).start()
    try:
        assert done.wait(10)
        done.clear()
        assert done.wait(10)  # still running after the failures
    finally:
        stop.set()


def test_the_worker_role_sweeps_devices_calls_and_purges_expired_idempotency_keys(container):
    jobs = {job.name: job for job in worker_jobs(container)}

    assert sorted(jobs) == [
        "appointment-no-show",
        "auto-no-show",
        "device-presence",
        "idempotency-purge",
    ]
    assert jobs["idempotency-purge"].interval_seconds == 60.0
    assert isinstance(jobs["idempotency-purge"].run(), int)  # against the real table
    assert jobs["auto-no-show"].interval_seconds == 15.0
    assert isinstance(jobs["auto-no-show"].run(), int)  # against the real read models
    assert jobs["appointment-no-show"].interval_seconds == 60.0
    assert isinstance(jobs["appointment-no-show"].run(), int)  # against the real read model
