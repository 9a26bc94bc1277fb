"""The ticket lifecycle follows TRANSITIONS: every pair it lists works, every other is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import IllegalTransition
from domain.tickets import ACTIONS, TERMINAL, TRANSITIONS, Ticket, TicketStatus

ISSUED_AT = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
LATER = ISSUED_AT + timedelta(minutes=7)

# How to bring a fresh ticket to each status through its public methods.
PATHS: dict[TicketStatus, list[str]] = {
    TicketStatus.WAITING: [],
    TicketStatus.CALLED: ["call"],
    TicketStatus.SERVING: ["call", "start"],
    TicketStatus.PAUSED: ["call", "start", "pause"],
    TicketStatus.COMPLETED: ["call", "start", "close"],
    TicketStatus.NO_SHOW: ["call", "mark_no_show"],
    TicketStatus.CANCELLED: ["cancel"],
}

LEGAL = sorted(TRANSITIONS.items())
ILLEGAL = [
    (status, action)
    for status in TicketStatus
    for action in sorted(ACTIONS)
    if (status, action) not in TRANSITIONS
]


def new_ticket() -> Ticket:
    return Ticket(
        tenant_id=uuid4(),
        queue_id=uuid4(),
        service_id=uuid4(),
        number="A-001",
        priority=0,
        channel="kiosk",
        customer_id=None,
        issued_at=ISSUED_AT,
    )


def perform(ticket: Ticket, action: str) -> None:
    """Call the public method named by ``action`` with plausible arguments."""
    if action == "call":
        ticket.call(uuid4(), "3", LATER)
    elif action == "transfer":
        ticket.transfer(uuid4(), uuid4(), "last", LATER)
    elif action == "cancel":
        ticket.cancel(LATER, "customer left")
    else:
        getattr(ticket, action)(LATER)


def ticket_in(status: TicketStatus) -> Ticket:
    ticket = new_ticket()
    for action in PATHS[status]:
        perform(ticket, action)
    assert ticket.status == status
    ticket.collect_events()
    return ticket


def test_every_status_has_a_path_to_reach_it():
    assert set(PATHS) == set(TicketStatus)


def test_every_action_in_the_table_is_a_public_method_of_the_ticket():
    assert all(callable(getattr(Ticket, action, None)) for action in ACTIONS)


def test_terminal_statuses_allow_no_action_at_all():
    assert not [pair for pair in TRANSITIONS if pair[0] in TERMINAL]


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=lambda v: str(v))
def test_an_action_the_table_does_not_list_is_refused_and_changes_nothing(status, action):
    ticket = ticket_in(status)
    before = dict(vars(ticket))

    with pytest.raises(IllegalTransition) as refusal:
        perform(ticket, action)

    assert refusal.value.status == status
    assert vars(ticket) == before
    assert ticket.collect_events() == []


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [(status, action, target) for (status, action), target in LEGAL],
    ids=lambda v: str(v),
)
def test_an_action_the_table_lists_leads_where_the_table_says(status, action, expected):
    ticket = ticket_in(status)
    version = ticket.version

    perform(ticket, action)

    assert ticket.status == expected
    assert ticket.version == version + 1
    assert len(ticket.collect_events()) == 1


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=lambda v: str(v))
def test_check_can_refuses_exactly_what_the_table_leaves_out(status, action):
    with pytest.raises(IllegalTransition):
        ticket_in(status).check_can(action)


def test_a_called_ticket_cannot_be_called_again():
    ticket = ticket_in(TicketStatus.CALLED)

    with pytest.raises(IllegalTransition):
        ticket.call(uuid4(), "9", LATER)


def test_a_transfer_returns_a_served_ticket_to_waiting_without_agent_or_counter():
    ticket = ticket_in(TicketStatus.SERVING)
    target = uuid4()

    ticket.transfer(target, uuid4(), "first", LATER)

    assert ticket.status == TicketStatus.WAITING
    assert (ticket.queue_id, ticket.agent_id, ticket.counter) == (target, None, None)
    assert ticket.transfers == 1
    assert ticket.number == "A-001"


def test_a_recall_keeps_the_ticket_called_and_counts_the_recall():
    ticket = ticket_in(TicketStatus.CALLED)
    first_called_at = ticket.first_called_at

    ticket.recall(LATER + timedelta(minutes=1))

    assert ticket.recalls == 1
    assert ticket.called_at == LATER + timedelta(minutes=1)
    assert ticket.first_called_at == first_called_at


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(sorted(ACTIONS)), max_size=12))
def test_any_sequence_of_actions_follows_the_table_and_replays_to_the_same_ticket(actions):
    ticket = new_ticket()
    events = list(ticket.collect_events())
    expected = TicketStatus.WAITING
    for action in actions:
        if (expected, action) in TRANSITIONS:
            perform(ticket, action)
            expected = TRANSITIONS[(expected, action)]
        else:
            with pytest.raises(IllegalTransition):
                perform(ticket, action)
        assert ticket.status == expected
        events.extend(ticket.collect_events())

    replayed = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)
    assert vars(replayed) == vars(ticket)
