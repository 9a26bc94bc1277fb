"""The tenant keeps an active admin even when its two admins step down at the same moment."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.context import CommandContext
from domain.errors import LastAdmin

pytestmark = pytest.mark.integration

ROUNDS = 6


@pytest.mark.parametrize("step_down", ["demote", "deactivate"])
def test_two_admins_stepping_down_at_once_leave_exactly_one_active_admin(container, step_down):
    for _ in range(ROUNDS):
        tenant_id = container.tenancy.create_tenant(
            CommandContext.system(None), f"t-{uuid.uuid4().hex[:12]}", "Tenant"
        )
        context = CommandContext.system(tenant_id, reason="test")
        admins = [
            container.tenancy.register_user(
                context, uuid.uuid4(), f"{uuid.uuid4().hex}@x.test", "A", "admin"
            ).id
            for _ in range(2)
        ]
        start = threading.Barrier(2)

        def leave(user_id, start=start, context=context):
            start.wait()  # both read a tenant with two admins, then race to save it
            try:
                if step_down == "demote":
                    container.tenancy.change_user(context, user_id, role="manager")
                else:
                    container.tenancy.deactivate_user(context, user_id)
            except LastAdmin:
                return "refused"
            return "left"

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(leave, admins))

        assert outcomes == ["left", "refused"]
        users = [container.tenancy.get_user(tenant_id, admin) for admin in admins]
        assert sum(user.role == "admin" and user.active for user in users) == 1
