"""The scripted load of the notification fault test (``test_notification_faults.py``), played
against the application and modelled in plain Python alongside: the waiting lines, each
ticket's state and stint, and the customer messages every step must cause.

The expectation is exact because the script never lets the notifier's timing matter. The
notifier reads a ticket's *current* state when it handles an event (a message that is no longer
news is not sent) and looks at the head of the line for "your turn is near", so the script plays
in rounds and waits, between rounds, until the notifier has handled every event (its consumer
group has committed the end of every partition). Within a round:

- a ticket issued, called, recalled or transferred is left alone until the next round, so its
  message is still news whenever the notifier reads it;
- a waiting ticket leaves its line (called, cancelled, transferred) only if it was already told
  "your turn is near" in this stint or has not come near in this round: whatever the notifier
  glimpses of the line in the middle of a round, it is told no more than what it sees at the
  round's end (the model checks this: ``maybe_near`` never outgrows ``near``).

"Your turn is near" is then due, once per stint, to each ticket among the first ``near_position``
of its line at the end of some round; every other kind once per event of its kind.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from application.tickets import Tickets
from domain.messages import MessageKind
from tests.integration.conftest import TenantWorld

K = MessageKind


@dataclass(frozen=True)
class Person:
    """A customer of the script: SMS only, in quiet hours for the whole test or not."""

    id: UUID
    phone: str
    quiet: bool


@dataclass
class Slip:
    """A ticket as the model sees it."""

    id: UUID
    number: str
    queue_id: UUID
    person: Person | None
    status: str = "waiting"
    stint: int = 0
    touched: int = 0
    """The round of its last change."""
    recalled: bool = False

    @property
    def told(self) -> bool:
        """Whether its customer hears from us: an SMS customer out of quiet hours."""
        return self.person is not None and not self.person.quiet


@dataclass
class Desk:
    """An agent at a counter, calling from one queue."""

    agent_id: UUID
    queue_id: UUID
    counter: str
    current: UUID | None = None


@dataclass
class Script:
    """Plays rounds of commands and keeps the model and the expected messages."""

    world: TenantWorld
    desks: list[Desk]
    people: list[Person]
    rng: random.Random
    near_position: int
    lines: dict[UUID, list[UUID]] = field(default_factory=dict)
    slips: dict[UUID, Slip] = field(default_factory=dict)
    near: set[tuple[UUID, int]] = field(default_factory=set)
    """(ticket, stint) at the head of a line at the end of a round: told "turn near"."""
    maybe_near: set[tuple[UUID, int]] = field(default_factory=set)
    """(ticket, stint) at the head of a line at any moment the notifier may have seen."""
    expected: Counter[tuple[UUID, str]] = field(default_factory=Counter)
    """(ticket, kind) -> how many such messages are due."""
    round: int = 0
    commands: int = 0

    def __post_init__(self) -> None:
        for desk in self.desks:
            self.lines.setdefault(desk.queue_id, [])

    @property
    def tickets(self) -> Tickets:
        return self.world.container.tickets

    def play_round(self) -> None:
        """One round: the desks finish and call, new tickets, maybe a cancellation and a
        transfer of waiting tickets."""
        self.round += 1
        for desk in self.desks:
            self._serve(desk)
        for _ in range(self.rng.choice((4, 5, 6))):
            self._issue()
        if self.rng.random() < 0.4:
            self._cancel_one()
        if self.rng.random() < 0.4:
            self._transfer_one()

    def end_round(self) -> None:
        """The notifier has handled the round: the head of each line has been told."""
        for line in self.lines.values():
            for ticket_id in line[: self.near_position]:
                slip = self.slips[ticket_id]
                key = (slip.id, slip.stint)
                if key not in self.near:
                    self.near.add(key)
                    self._expect(slip, K.TURN_NEAR)
        stray = self.maybe_near - self.near
        assert not stray, f"the script let the notifier glimpse a head it then lost: {stray}"

    def check_lines(self) -> None:
        """The model's heads of line are the application's."""
        for queue_id, line in self.lines.items():
            head = self.tickets.get_next_waiting(self.world.tenant_id, queue_id, self.near_position)
            assert [ticket.id for ticket in head] == line[: self.near_position]

    # -- steps -----------------------------------------------------------------------------

    def _serve(self, desk: Desk) -> None:
        context = self.world.context
        if desk.current is not None:
            slip = self.slips[desk.current]
            if slip.touched == self.round:
                return
            roll = self.rng.random()
            if roll < 0.1 and not slip.recalled:
                self.tickets.recall_ticket(context, slip.id)
                slip.recalled, slip.touched = True, self.round
                self._expect(slip, K.RECALLED)
                self.commands += 1
                return
            if roll < 0.17:
                self.tickets.mark_no_show(context, slip.id)
                self._expect(slip, K.NO_SHOW)
                slip.status = "no_show"
            elif roll < 0.22:
                self.tickets.cancel_ticket(context, slip.id, reason="left")
                self._expect(slip, K.CANCELLED)
                slip.status = "cancelled"
            else:
                self.tickets.start_ticket(context, slip.id)
                self.tickets.close_ticket(context, slip.id)
                self._expect(slip, K.FEEDBACK_REQUEST)  # a completed visit asks for feedback
                slip.status = "closed"
                self.commands += 1
            self.commands += 1
            desk.current = None
        line = self.lines[desk.queue_id]
        if not line or not self._may_leave(self.slips[line[0]]):
            return
        called = self.world.container.staffing.call_next(context, desk.agent_id, desk.queue_id)
        assert called is not None and called.id == line[0], "the model's line is not the queue's"
        slip = self.slips[line.pop(0)]
        slip.status, slip.touched = "called", self.round
        desk.current = slip.id
        self._expect(slip, K.CALLED)
        self.commands += 1
        self._glimpse()

    def _issue(self) -> None:
        queue_id = self.desks[0].queue_id if self.rng.random() < 0.55 else self.desks[-1].queue_id
        roll = self.rng.random()
        quiet = [person for person in self.people if person.quiet]
        told = [person for person in self.people if not person.quiet]
        person = (
            self.rng.choice(told)
            if roll < 0.55
            else self.rng.choice(quiet)
            if roll < 0.75
            else None
        )
        view = self.tickets.issue_ticket(
            self.world.context, queue_id, customer_id=person.id if person else None
        )
        slip = Slip(view.id, view.number, queue_id, person, touched=self.round)
        self.slips[slip.id] = slip
        self.lines[queue_id].append(slip.id)
        self._expect(slip, K.TICKET_ISSUED)
        self.commands += 1
        self._glimpse()

    def _cancel_one(self) -> None:
        slip = self._pick_leaver()
        if slip is None:
            return
        self.tickets.cancel_ticket(self.world.context, slip.id, reason="changed their mind")
        self.lines[slip.queue_id].remove(slip.id)
        slip.status, slip.touched = "cancelled", self.round
        self._expect(slip, K.CANCELLED)
        self.commands += 1
        self._glimpse()

    def _transfer_one(self) -> None:
        slip = self._pick_leaver()
        if slip is None:
            return
        target = next(queue_id for queue_id in self.lines if queue_id != slip.queue_id)
        self.tickets.transfer_ticket(self.world.context, slip.id, target, placement="last")
        self.lines[slip.queue_id].remove(slip.id)
        self.lines[target].append(slip.id)
        slip.queue_id, slip.stint, slip.touched = target, slip.stint + 1, self.round
        self._expect(slip, K.TRANSFERRED)
        self.commands += 1
        self._glimpse()

    # -- rules -------------------------------------------------------------------------------

    def _pick_leaver(self) -> Slip | None:
        """A waiting ticket that may leave its line now (see the module docstring)."""
        candidates = [
            self.slips[ticket_id]
            for line in self.lines.values()
            for ticket_id in line
            if self._may_leave(self.slips[ticket_id])
        ]
        return self.rng.choice(candidates) if candidates else None

    def _may_leave(self, slip: Slip) -> bool:
        if slip.status != "waiting" or slip.touched == self.round:
            return False
        position = self.lines[slip.queue_id].index(slip.id) + 1
        return position > self.near_position or (slip.id, slip.stint) in self.near

    def _glimpse(self) -> None:
        """A moment the notifier may read: the heads of the lines as they are now."""
        for line in self.lines.values():
            for ticket_id in line[: self.near_position]:
                self.maybe_near.add((ticket_id, self.slips[ticket_id].stint))

    def _expect(self, slip: Slip, kind: MessageKind) -> None:
        if slip.told:
            self.expected[(slip.id, kind.value)] += 1
