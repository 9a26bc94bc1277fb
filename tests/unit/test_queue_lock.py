"""The queue lock of one process (``ProcessQueueLock``): the writers of a queue take turns, in
the order they came, and a lock not had in time is given up rather than waited for forever."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

from infrastructure.postgres.queue_lock import ProcessQueueLock

LONG_WAIT = 30.0


def test_the_writers_of_one_queue_take_turns():
    lock = ProcessQueueLock(LONG_WAIT)
    queue_id = uuid4()
    total = {"value": 0}

    def write(times: int) -> None:
        for _ in range(times):
            with lock.holding([queue_id]):
                seen = total["value"]
                time.sleep(0)  # let another thread run between the read and the write
                total["value"] = seen + 1

    threads = [threading.Thread(target=write, args=(200,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert total["value"] == 8 * 200


def test_waiters_are_served_in_the_order_they_came():
    lock = ProcessQueueLock(LONG_WAIT)
    queue_id = uuid4()
    served: list[int] = []
    holding = lock.holding([queue_id])
    holding.__enter__()

    def wait_then_note(index: int) -> None:
        with lock.holding([queue_id]):
            served.append(index)

    threads = []
    for index in range(5):
        threads.append(threading.Thread(target=wait_then_note, args=(index,)))
        threads[-1].start()
        _until(lambda count=index + 1: _waiting(lock, queue_id) == count)
    holding.__exit__(None, None, None)
    for thread in threads:
        thread.join()
    assert served == [0, 1, 2, 3, 4]


def test_a_lock_not_had_in_time_lets_the_command_run_unlocked():
    lock = ProcessQueueLock(wait_seconds=0.2)
    queue_id = uuid4()
    entered = threading.Event()

    def second_writer() -> None:
        with lock.holding([queue_id]):
            entered.set()

    with lock.holding([queue_id]):
        started = time.monotonic()
        threading.Thread(target=second_writer).start()
        assert entered.wait(LONG_WAIT), "the second writer waited past its wait"
        assert time.monotonic() - started >= 0.2
    # Given up, not taken: the queue is free again once its holder leaves.
    with lock.holding([queue_id]):
        assert _waiting(lock, queue_id) == 0


def test_commands_naming_two_queues_in_either_order_do_not_deadlock():
    lock = ProcessQueueLock(LONG_WAIT)
    first, second = uuid4(), uuid4()
    inside = {"count": 0, "most": 0}
    guard = threading.Lock()

    def write(queue_ids) -> None:
        for _ in range(300):
            with lock.holding(queue_ids):
                with guard:
                    inside["count"] += 1
                    inside["most"] = max(inside["most"], inside["count"])
                time.sleep(0)
                with guard:
                    inside["count"] -= 1

    threads = [
        threading.Thread(target=write, args=(ids,))
        for ids in ([first, second], [second, first], [second], [first, second])
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < LONG_WAIT, "a writer gave up its lock: a deadlock"
    assert inside["most"] == 1


def _waiting(lock: ProcessQueueLock, queue_id) -> int:
    mutex = lock._mutexes.get(queue_id)
    return 0 if mutex is None else len(mutex._waiters)


def _until(condition, timeout: float = LONG_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)
