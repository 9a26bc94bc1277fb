"""Read your writes, with a fake projection store and a fake clock."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterable

import pytest

from application.consistency import (
    Consistency,
    ReadModelBehind,
    current_positions,
    note_read,
    note_written,
    tracking_positions,
)
from domain.errors import InvalidInput


class Store:
    """Projection positions that advance by ``step`` each time they are read."""

    def __init__(self, positions: dict[str, int], head: int, step: int = 0) -> None:
        self.current = dict(positions)
        self.log_head = head
        self.step = step
        self.reads = 0

    def positions(self, names: Iterable[str]) -> dict[str, int]:
        self.reads += 1
        result = {name: self.current.get(name, 0) for name in names}
        self.current = {name: p + self.step for name, p in self.current.items()}
        return result

    def head(self) -> int:
        return self.log_head


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def consistency(store: Store, clock: Clock, max_wait: float = 1.0) -> Consistency:
    return Consistency(
        store, max_wait_seconds=max_wait, poll_seconds=0.1, clock=clock, sleep=clock.sleep
    )


def test_without_a_position_a_query_does_not_wait():
    store, clock = Store({"a": 3, "b": 7}, head=10), Clock()
    assert consistency(store, clock).await_position(("a", "b"), None) == 3
    assert clock.now == 0.0 and store.reads == 1


def test_a_reached_position_answers_at_once_with_the_slowest_read_model():
    store, clock = Store({"a": 12, "b": 9}, head=12), Clock()
    assert consistency(store, clock).await_position(("a", "b"), 9) == 9
    assert clock.now == 0.0


def test_a_query_waits_until_every_read_model_reaches_the_position():
    store, clock = Store({"a": 4, "b": 2}, head=10, step=1), Clock()
    assert consistency(store, clock).await_position(("a", "b"), 6) == 6
    assert clock.now == pytest.approx(0.4)  # b went 2, 3, 4, 5, 6 with a poll between reads


def test_a_read_model_still_behind_at_the_deadline_is_an_error_not_stale_data():
    store, clock = Store({"a": 4}, head=10), Clock()
    with pytest.raises(ReadModelBehind, match="position 4, behind the 8"):
        consistency(store, clock, max_wait=0.5).await_position(("a",), 8)
    assert clock.now == pytest.approx(0.5)


def test_a_position_beyond_the_log_is_refused_without_waiting():
    store, clock = Store({"a": 4}, head=10), Clock()
    with pytest.raises(InvalidInput, match="beyond the end of the event log"):
        consistency(store, clock).await_position(("a",), 11)
    assert clock.now == 0.0


def test_a_request_records_the_highest_position_written_and_the_lowest_read():
    assert current_positions() is None
    note_written(5)  # outside a request: nowhere to note it, and no error
    with tracking_positions() as positions:
        note_written(7)
        note_written(None)
        note_written(3)
        note_read(9)
        note_read(4)
        assert current_positions() is positions
    assert (positions.written, positions.read) == (7, 4)
    assert current_positions() is None


def test_a_worker_thread_writes_into_the_request_s_record():
    with tracking_positions() as positions:
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(note_written, 42))
        worker.start()
        worker.join()
    assert positions.written == 42
