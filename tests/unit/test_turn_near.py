""" "Your turn is near": once per ticket per queue stint, when a threshold is crossed while waiting.

The property tests run whole simulated mornings (two queues, joins, calls, recalls, transfers,
cancellations, no-shows) and check each ticket's decisions against a plain reading of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.notify_rules import (
    ENDS_TICKET,
    ENDS_WAITING,
    OPENS_STINT,
    NearThresholds,
    TicketChange,
    TicketUpdate,
    TurnNearState,
    decide_turn_near,
    turn_near_sends,
)

C = TicketChange
NEAR = NearThresholds(position=3, eta_minutes=5)


def update(change: TicketChange, position: int | None = None, eta: float | None = None):
    return TicketUpdate(change, uuid4(), position, eta)


def test_sent_once_when_the_position_reaches_the_threshold():
    history = [update(C.ISSUED, 6), update(C.MOVED, 5), update(C.MOVED, 3), update(C.MOVED, 2)]
    assert turn_near_sends(history, NEAR) == [2]


def test_sent_when_the_eta_alone_reaches_its_threshold():
    history = [update(C.ISSUED, 9, 30), update(C.MOVED, 8, 4.5)]
    assert turn_near_sends(history, NEAR) == [1]


def test_a_ticket_issued_already_near_is_told_at_once():
    assert turn_near_sends([update(C.ISSUED, 2, 8)], NEAR) == [0]


def test_moving_back_after_the_message_does_not_send_it_again():
    history = [update(C.ISSUED, 4), update(C.MOVED, 3), update(C.MOVED, 6), update(C.MOVED, 2)]
    assert turn_near_sends(history, NEAR) == [1]


def test_a_transfer_opens_a_new_stint_with_its_own_message():
    history = [
        update(C.ISSUED, 5),
        update(C.MOVED, 1),
        update(C.CALLED),
        update(C.TRANSFERRED, 7),
        update(C.MOVED, 3),
    ]
    assert turn_near_sends(history, NEAR) == [1, 4]


def test_never_sent_after_the_ticket_is_called_recalled_cancelled_or_a_no_show():
    for ending in (C.CALLED, C.RECALLED, C.CANCELLED, C.NO_SHOW, C.COMPLETED):
        history = [update(C.ISSUED, 8), update(ending), update(C.MOVED, 1)]
        assert turn_near_sends(history, NEAR) == [], ending
    cancelled = [update(C.ISSUED, 8), update(C.CANCELLED), update(C.TRANSFERRED, 1)]
    assert turn_near_sends(cancelled, NEAR) == []


def test_a_position_change_outside_any_known_stint_is_ignored():
    assert turn_near_sends([update(C.MOVED, 1)], NEAR) == []


def test_the_decision_names_the_event_that_opened_the_stint():
    issued, moved = update(C.ISSUED, 5), update(C.MOVED, 2)
    first = decide_turn_near(TurnNearState(), issued, NEAR)
    second = decide_turn_near(first.state, moved, NEAR)
    assert second.send
    assert second.stint_event_id == issued.event_id
    # Deciding the same update again from the saved state before it names the same stint.
    assert decide_turn_near(first.state, moved, NEAR).stint_event_id == issued.event_id


def test_a_switched_off_threshold_never_triggers_and_bad_ones_are_refused():
    only_eta = NearThresholds(position=None, eta_minutes=5)
    assert turn_near_sends([update(C.ISSUED, 1, 20), update(C.MOVED, 1, None)], only_eta) == []
    with pytest.raises(InvalidInput):
        NearThresholds(position=0)
    with pytest.raises(InvalidInput):
        NearThresholds(eta_minutes=-1)


def expected_sends(history: list[TicketUpdate], thresholds: NearThresholds) -> list[int]:
    """The rule read plainly: per stint, the first waiting update at or under a threshold."""
    sends, in_stint, waiting, told = [], False, False, False
    for index, item in enumerate(history):
        if item.change in ENDS_TICKET:
            break
        if item.change in OPENS_STINT:
            in_stint, waiting, told = True, True, False
        elif item.change in ENDS_WAITING:
            waiting = False
        if (
            in_stint
            and waiting
            and not told
            and thresholds.reached(item.position, item.eta_minutes)
        ):
            sends.append(index)
            told = True
    return sends


@dataclass
class Morning:
    """Two queues served front first; each ticket's updates as the notifier would see them."""

    lines: dict[str, list[UUID]] = field(default_factory=lambda: {"A": [], "B": []})
    called: list[UUID] = field(default_factory=list)
    histories: dict[UUID, list[TicketUpdate]] = field(default_factory=dict)
    stints: dict[UUID, list[UUID]] = field(default_factory=dict)

    def _record(self, ticket: UUID, change: TicketChange, queue: str | None = None) -> None:
        position = self.lines[queue].index(ticket) + 1 if queue else None
        eta = position * 4.0 if position else None
        item = TicketUpdate(change, uuid4(), position, eta)
        self.histories.setdefault(ticket, []).append(item)
        if change in OPENS_STINT:
            self.stints.setdefault(ticket, []).append(item.event_id)

    def _moved(self, queue: str, start: int) -> None:
        for ticket in self.lines[queue][start:]:
            self._record(ticket, C.MOVED, queue)

    def join(self, queue: str) -> None:
        ticket = uuid4()
        self.lines[queue].append(ticket)
        self._record(ticket, C.ISSUED, queue)

    def leave(self, queue: str, index: int, change: TicketChange) -> UUID:
        ticket = self.lines[queue].pop(index)
        self._record(ticket, change)
        self._moved(queue, index)
        return ticket

    def call(self, queue: str) -> None:
        if self.lines[queue]:
            self.called.append(self.leave(queue, 0, C.CALLED))

    def transfer(self, pick: int, target: str) -> None:
        if self.called:
            ticket = self.called.pop(pick % len(self.called))
            self.lines[target].append(ticket)
            self._record(ticket, C.TRANSFERRED, target)

    def move(self, queue: str, pick: int, target: str) -> None:
        """A waiting ticket sent to the end of another line (or of its own)."""
        if self.lines[queue]:
            index = pick % len(self.lines[queue])
            ticket = self.lines[queue].pop(index)
            self._moved(queue, index)
            self.lines[target].append(ticket)
            self._record(ticket, C.TRANSFERRED, target)

    def finish(self, pick: int, change: TicketChange) -> None:
        if self.called:
            ticket = self.called[pick % len(self.called)]
            if change is not C.RECALLED:
                self.called.remove(ticket)
            self._record(ticket, change)

    def cancel(self, queue: str, pick: int) -> None:
        if self.lines[queue]:
            self.leave(queue, pick % len(self.lines[queue]), C.CANCELLED)


queues = st.sampled_from(["A", "B"])
steps = st.one_of(
    st.tuples(st.just("join"), queues),
    st.tuples(st.just("call"), queues),
    st.tuples(st.just("transfer"), st.integers(0, 20), queues),
    st.tuples(st.just("move"), queues, st.integers(0, 20), queues),
    st.tuples(st.just("finish"), st.integers(0, 20), st.sampled_from(sorted(ENDS_WAITING))),
    st.tuples(st.just("finish"), st.integers(0, 20), st.sampled_from([C.NO_SHOW, C.COMPLETED])),
    st.tuples(st.just("cancel"), queues, st.integers(0, 20)),
)
thresholds = st.builds(
    NearThresholds,
    position=st.one_of(st.none(), st.integers(1, 6)),
    eta_minutes=st.one_of(st.none(), st.integers(0, 30)),
)


def stints_of(history: list[TicketUpdate]) -> list[list[int]]:
    """The indices of each stint's updates, from its opening to the next opening."""
    stints: list[list[int]] = []
    for index, item in enumerate(history):
        if item.change in OPENS_STINT:
            stints.append([])
        if stints:
            stints[-1].append(index)
    return stints


def run(morning: Morning, plan) -> Morning:
    for step in plan:
        getattr(morning, step[0])(*step[1:])
    return morning


@settings(max_examples=200, deadline=None)
@given(st.lists(steps, max_size=150), thresholds)
def test_over_a_morning_each_stint_is_told_at_most_once_and_when_its_threshold_is_crossed(
    plan, near
):
    morning = run(Morning(), plan)
    for ticket, history in morning.histories.items():
        state, sent_for = TurnNearState(), []
        for item in history:
            decision = decide_turn_near(state, item, near)
            state = decision.state
            if decision.send:
                sent_for.append(decision.stint_event_id)
        # At most once per stint, keyed by the stint's opening event.
        assert len(sent_for) == len(set(sent_for))
        assert set(sent_for) <= set(morning.stints[ticket])
        # Sent exactly when, and where, the rule says.
        sends = turn_near_sends(history, near)
        assert sends == expected_sends(history, near)
        # Every stint whose ticket came near while still waiting was told, once.
        for stint in stints_of(history):
            ends = [
                n for n, i in enumerate(stint) if history[i].change in ENDS_WAITING | ENDS_TICKET
            ]
            waiting = stint[: ends[0]] if ends else stint
            came_near = any(
                near.reached(history[i].position, history[i].eta_minutes) for i in waiting
            )
            assert len(set(sends) & set(stint)) == (1 if came_near else 0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            update,
            st.sampled_from(TicketChange),
            st.one_of(st.none(), st.integers(1, 10)),
            st.one_of(st.none(), st.floats(0, 60)),
        ),
        max_size=40,
    ),
    thresholds,
)
def test_even_an_impossible_history_sends_at_most_once_per_stint(history, near):
    sends = turn_near_sends(history, near)
    assert sends == expected_sends(history, near)
    opened = [i for i, item in enumerate(history) if item.change in OPENS_STINT]
    for index in sends:
        assert history[index].change not in ENDS_WAITING | ENDS_TICKET
    assert len(sends) <= len(opened)
