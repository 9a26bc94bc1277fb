"""The one granting rule, on the in-memory store: a context carrying the caller's scopes may not
create, change or equip a principal above them; the system context may."""

from __future__ import annotations

from uuid import uuid4

import msgspec
import pytest

from domain.access import MANAGER_SCOPES, check_can_grant, device_rights
from domain.errors import NotPermitted
from tests.unit.world import World, make_world

MANAGER = frozenset(str(scope) for scope in MANAGER_SCOPES)


@pytest.fixture
def world() -> World:
    return make_world()


def test_registering_a_user_above_the_caller_is_refused_and_the_system_may(world):
    as_manager = msgspec.structs.replace(world.context, actor_scopes=MANAGER | {"users:manage"})

    with pytest.raises(NotPermitted, match="sites:manage"):
        world.tenancy.register_user(as_manager, uuid4(), "boss@example.test", "Boss", "admin")
    manager = world.tenancy.register_user(as_manager, uuid4(), "m@example.test", "M", "manager")

    assert manager.role == "manager"
    system = world.tenancy.register_user(world.context, uuid4(), "a@example.test", "A", "admin")
    assert system.role == "admin"


def test_a_device_needs_every_right_it_will_have_except_its_own_heartbeat():
    assert device_rights("display") == {"queues:read", "tickets:read", "stats:read"}
    agent_with_devices = frozenset({"queues:read", "tickets:read", "tickets:issue"})

    check_can_grant(agent_with_devices, device_rights("kiosk"))
    with pytest.raises(NotPermitted, match="stats:read"):
        check_can_grant(agent_with_devices, device_rights("display"))
