"""Agent rules: who may call, who may leave, and what finishing a ticket does to their status."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.agents import Agent, AgentStatus
from domain.errors import AgentBusy, AgentError, AgentUnavailable, InvalidInput


def agent_with_status(status: AgentStatus) -> Agent:
    agent = Agent(user_id=uuid4(), tenant_id=uuid4(), name="Alice")
    agent.set_status(status.value)
    return agent


def agent_holding_a_ticket() -> Agent:
    agent = agent_with_status(AgentStatus.AVAILABLE)
    agent.take_ticket(uuid4())
    return agent


def test_a_newly_registered_agent_is_offline_and_cannot_call():
    agent = Agent(user_id=uuid4(), tenant_id=uuid4(), name="Alice")

    assert agent.status == AgentStatus.OFFLINE
    with pytest.raises(AgentUnavailable):
        agent.check_can_call()


@pytest.mark.parametrize("status", [AgentStatus.PAUSED, AgentStatus.OFFLINE])
def test_a_paused_or_offline_agent_cannot_call_or_take_a_ticket(status):
    agent = agent_with_status(status)

    with pytest.raises(AgentUnavailable):
        agent.check_can_call()
    with pytest.raises(AgentUnavailable):
        agent.take_ticket(uuid4())
    assert agent.current_ticket_id is None


@pytest.mark.parametrize("status", [AgentStatus.AVAILABLE, AgentStatus.BUSY])
def test_an_on_duty_agent_without_a_ticket_may_call(status):
    agent = agent_with_status(status)
    ticket_id = uuid4()

    agent.take_ticket(ticket_id)

    assert agent.current_ticket_id == ticket_id
    assert agent.status == AgentStatus.BUSY


def test_an_agent_holding_a_ticket_cannot_call_another():
    agent = agent_holding_a_ticket()
    held = agent.current_ticket_id

    with pytest.raises(AgentBusy):
        agent.check_can_call()
    with pytest.raises(AgentBusy):
        agent.take_ticket(uuid4())
    assert agent.current_ticket_id == held


def test_an_agent_holding_a_ticket_cannot_go_offline():
    agent = agent_holding_a_ticket()
    agent.collect_events()

    with pytest.raises(AgentBusy):
        agent.set_status("offline")

    assert agent.status == AgentStatus.BUSY
    assert agent.collect_events() == []


def test_an_agent_holding_a_ticket_may_pause_and_stays_paused_after_release():
    agent = agent_holding_a_ticket()
    held = agent.current_ticket_id

    agent.set_status("paused")
    agent.release_ticket(held)

    assert agent.status == AgentStatus.PAUSED
    assert agent.current_ticket_id is None


def test_releasing_the_held_ticket_returns_a_busy_agent_to_available():
    agent = agent_holding_a_ticket()

    agent.release_ticket(agent.current_ticket_id)

    assert agent.status == AgentStatus.AVAILABLE
    assert agent.current_ticket_id is None
    agent.check_can_call()  # free to call again


def test_an_agent_cannot_release_a_ticket_they_do_not_hold():
    agent = agent_holding_a_ticket()
    held = agent.current_ticket_id

    with pytest.raises(AgentError):
        agent.release_ticket(uuid4())
    assert agent.current_ticket_id == held


def test_a_released_agent_can_go_offline():
    agent = agent_holding_a_ticket()
    agent.release_ticket(agent.current_ticket_id)

    agent.set_status("offline")

    assert agent.status == AgentStatus.OFFLINE


@pytest.mark.parametrize("status", ["", "lunch", "AVAILABLE", "on-break"])
def test_an_unknown_status_is_invalid_input(status):
    agent = agent_with_status(AgentStatus.AVAILABLE)

    with pytest.raises(InvalidInput):
        agent.set_status(status)
    assert agent.status == AgentStatus.AVAILABLE


def test_setting_the_current_status_again_records_nothing():
    agent = agent_with_status(AgentStatus.AVAILABLE)
    agent.collect_events()

    agent.set_status("available")

    assert agent.collect_events() == []


def test_a_blank_counter_label_is_invalid_input():
    agent = agent_with_status(AgentStatus.AVAILABLE)

    with pytest.raises(InvalidInput):
        agent.assign_counter("   ")
    agent.assign_counter("Desk 4")
    assert agent.counter == "Desk 4"


def test_assigning_the_same_queue_twice_is_invalid_input():
    agent = agent_with_status(AgentStatus.AVAILABLE)
    queue_id = uuid4()

    with pytest.raises(InvalidInput):
        agent.assign_queues([queue_id, queue_id])
    assert agent.queue_ids == []


def test_an_agent_id_derives_from_its_user_id_alone():
    user_id = uuid4()

    assert Agent.create_id(user_id) == Agent.create_id(user_id)
    assert Agent.create_id(user_id) != Agent.create_id(uuid4())
    assert Agent(user_id=user_id, tenant_id=uuid4(), name="Bo").id == Agent.create_id(user_id)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([s.value for s in AgentStatus]).map(lambda s: ("status", s)),
            st.just(("take", None)),
            st.just(("release", None)),
        ),
        max_size=15,
    )
)
def test_an_agent_never_calls_while_off_duty_or_holding_a_ticket(steps):
    agent = Agent(user_id=uuid4(), tenant_id=uuid4(), name="Alice")
    for kind, value in steps:
        was = (agent.status, agent.current_ticket_id)
        try:
            if kind == "status":
                agent.set_status(value)
            elif kind == "take":
                agent.take_ticket(uuid4())
            else:
                agent.release_ticket(agent.current_ticket_id or uuid4())
        except AgentError:
            assert (agent.status, agent.current_ticket_id) == was
            continue
        if kind == "take":
            assert was[0] in (AgentStatus.AVAILABLE, AgentStatus.BUSY)
            assert was[1] is None
        if agent.current_ticket_id is not None:
            assert agent.status != AgentStatus.OFFLINE
