"""Staff users: names, roles and extra scopes change; deactivation stops an agent; the tenant
always keeps an active admin; nobody grants rights they do not hold."""

from __future__ import annotations

from uuid import UUID, uuid4

import msgspec
import pytest

from domain.access import ADMIN_SCOPES, AGENT_SCOPES, MANAGER_SCOPES
from domain.agents import Agent
from domain.errors import AgentBusy, InvalidInput, LastAdmin, NotPermitted, UserError
from domain.tenancy import StaffUser
from tests.unit.world import World, make_world

ADMIN = frozenset(str(scope) for scope in ADMIN_SCOPES)
MANAGER = frozenset(str(scope) for scope in MANAGER_SCOPES)


@pytest.fixture
def world() -> World:
    return make_world()


def agent_of(world: World, user_id: UUID) -> Agent:
    return world.app.repository.get(Agent.create_id(user_id))


def test_the_only_admin_can_neither_be_demoted_nor_deactivated(world):
    admin = world.user("admin")

    with pytest.raises(LastAdmin, match="last active admin"):
        world.tenancy.change_user(world.context, admin, role="manager")
    with pytest.raises(LastAdmin):
        world.tenancy.deactivate_user(world.context, admin)

    user = world.tenancy.get_user(world.tenant_id, admin)
    assert (user.role, user.active) == ("admin", True)


def test_of_two_admins_one_may_step_down_and_then_the_other_is_the_last(world):
    first, second = world.user("admin"), world.user("admin")

    assert world.tenancy.change_user(world.context, first, role="manager").role == "manager"

    with pytest.raises(LastAdmin):
        world.tenancy.deactivate_user(world.context, second)
    assert world.tenancy.deactivate_user(world.context, first).active is False


def test_a_deactivated_admin_no_longer_counts_until_reactivated(world):
    first, second = world.user("admin"), world.user("admin")
    world.tenancy.deactivate_user(world.context, first)

    with pytest.raises(LastAdmin):
        world.tenancy.change_user(world.context, second, role="agent")

    world.tenancy.reactivate_user(world.context, first)
    assert world.tenancy.change_user(world.context, second, role="agent").role == "agent"


def test_promoting_a_user_to_admin_lets_the_previous_admin_step_down(world):
    admin, manager = world.user("admin"), world.user("manager")

    world.tenancy.change_user(world.context, manager, role="admin")

    assert world.tenancy.change_user(world.context, admin, role="agent").role == "agent"


def test_role_and_extra_scopes_decide_what_a_user_may_do(world):
    user_id = world.user("agent")

    view = world.tenancy.change_user(world.context, user_id, scopes=["stats:read", "audit:read"])

    assert view.scopes == ["audit:read", "stats:read"]
    user = world.app.repository.get(user_id)
    assert isinstance(user, StaffUser)
    assert user.all_scopes == frozenset(map(str, AGENT_SCOPES)) | {"stats:read", "audit:read"}
    world.tenancy.change_user(world.context, user_id, role="manager", scopes=[])
    assert world.app.repository.get(user_id).all_scopes == MANAGER


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        (["stats:read", "stats:fly"], "unknown scopes: stats:fly"),
        (["tenants:manage"], "reserved to platform administrators: tenants:manage"),
    ],
)
def test_unknown_or_platform_scopes_cannot_be_granted(world, scopes, message):
    user_id = world.user("agent")

    with pytest.raises(InvalidInput, match=message):
        world.tenancy.change_user(world.context, user_id, scopes=scopes)

    assert world.tenancy.get_user(world.tenant_id, user_id).scopes == []


def test_an_unknown_role_is_refused_naming_the_known_ones(world):
    user_id = world.user("agent")

    with pytest.raises(InvalidInput, match="unknown role 'boss'; expected one of admin"):
        world.tenancy.change_user(world.context, user_id, role="boss")


def test_nobody_grants_a_scope_or_a_role_they_do_not_hold(world):
    agent = world.user("agent")
    as_manager = msgspec.structs.replace(world.context, actor_scopes=MANAGER | {"users:manage"})

    with pytest.raises(NotPermitted, match="sites:manage"):
        world.tenancy.change_user(as_manager, agent, scopes=["sites:manage"])
    with pytest.raises(NotPermitted, match="sites:manage"):
        world.tenancy.change_user(as_manager, agent, role="admin")

    granted = world.tenancy.change_user(as_manager, agent, scopes=["stats:read"])
    assert granted.scopes == ["stats:read"]


def test_nobody_acts_on_a_user_more_powerful_than_themselves(world):
    world.user("admin")
    admin = world.user("admin")
    as_manager = msgspec.structs.replace(world.context, actor_scopes=MANAGER | {"users:manage"})

    for command in (world.tenancy.deactivate_user, world.tenancy.reactivate_user):
        with pytest.raises(NotPermitted):
            command(as_manager, admin)
    with pytest.raises(NotPermitted):
        world.tenancy.change_user(as_manager, admin, name="Demoted")

    as_admin = msgspec.structs.replace(world.context, actor_scopes=ADMIN)
    assert world.tenancy.deactivate_user(as_admin, admin).active is False


def test_deactivating_an_agent_takes_them_offline_and_reactivating_keeps_them_offline(world):
    user_id = world.user("agent")
    world.staffing.set_agent_status(world.context, Agent.create_id(user_id), "available", "3")

    assert world.tenancy.deactivate_user(world.context, user_id).active is False
    assert agent_of(world, user_id).status == "offline"

    assert world.tenancy.reactivate_user(world.context, user_id).active is True
    assert agent_of(world, user_id).status == "offline"


def test_an_agent_holding_a_ticket_cannot_be_deactivated(world):
    queue = world.queue(world.service("A"))
    world.issue(queue)
    user_id = world.user("agent", name="Alice")
    agent_id = Agent.create_id(user_id)
    world.staffing.set_agent_status(world.context, agent_id, "available", "1")
    ticket = world.staffing.call_next(world.context, agent_id, queue)

    with pytest.raises(AgentBusy, match=f"Alice holds ticket {ticket.id}; close or transfer"):
        world.tenancy.deactivate_user(world.context, user_id)

    assert world.tenancy.get_user(world.tenant_id, user_id).active is True


def test_deactivating_twice_or_reactivating_an_active_user_is_a_conflict(world):
    user_id = world.user("agent")

    with pytest.raises(UserError, match="already active"):
        world.tenancy.reactivate_user(world.context, user_id)
    world.tenancy.deactivate_user(world.context, user_id)
    with pytest.raises(UserError, match="already deactivated"):
        world.tenancy.deactivate_user(world.context, user_id)


def test_a_new_name_reaches_the_agent_board_in_the_same_transaction(world):
    user_id = world.user("agent", name="Alice")

    assert world.tenancy.change_user(world.context, user_id, name="  Alice Martin ").name == (
        "Alice Martin"
    )

    assert agent_of(world, user_id).name == "Alice Martin"
    assert world.app.transactions[-1] == {"StaffUser.Renamed", "Agent.Renamed"}


def test_a_change_that_changes_nothing_records_nothing(world):
    user_id = world.user("manager", name="Bob")
    before = len(world.app.transactions)

    view = world.tenancy.change_user(world.context, user_id, name="Bob", role="manager", scopes=[])

    assert (view.name, view.role, view.scopes) == ("Bob", "manager", [])
    assert all(not events for events in world.app.transactions[before:])


def test_each_change_records_its_own_event(world):
    user_id = world.user("agent")
    world.staffing.set_agent_status(world.context, Agent.create_id(user_id), "available")

    world.tenancy.change_user(world.context, user_id, role="manager", scopes=["stats:read"])
    world.tenancy.deactivate_user(world.context, user_id)
    world.tenancy.reactivate_user(world.context, user_id)

    assert world.app.transactions[-3:] == [
        {"StaffUser.RoleChanged", "StaffUser.ScopesChanged"},
        {"StaffUser.Deactivated", "Agent.StatusChanged"},
        {"StaffUser.Reactivated"},
    ]


def test_another_tenants_user_is_not_found(world):
    other = make_world(app=world.app)
    stranger = other.user("agent")

    for command in (world.tenancy.deactivate_user, world.tenancy.reactivate_user):
        with pytest.raises(Exception, match="no staffuser") as refused:
            command(world.context, stranger)
        assert type(refused.value).__name__ == "ResourceNotFound"
    with pytest.raises(Exception, match="no staffuser"):
        world.tenancy.change_user(world.context, uuid4(), name="Ghost")
