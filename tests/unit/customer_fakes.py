"""An in-memory ``CustomerProfiles`` and an application wired to it on the side-writing store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.customers import CustomerProfile
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.world import MORNING, Clock, TransactionSpy, World, make_world


@dataclass(frozen=True)
class MemoryWrite:
    """A side write on the fake: applied by the in-memory recorder only if the save succeeds."""

    change: Callable[[], None]

    def apply(self, transaction: Any) -> None:
        self.change()


class InMemoryCustomerProfiles:
    """Profiles in a dict, with the same ordering and filters as the PostgreSQL table."""

    def __init__(self) -> None:
        self.rows: dict[tuple[UUID, UUID], CustomerProfile] = {}

    def insert(self, profile: CustomerProfile) -> MemoryWrite:
        def change() -> None:
            key = (profile.tenant_id, profile.customer_id)
            assert key not in self.rows, "duplicate profile"
            self.rows[key] = profile

        return MemoryWrite(change)

    def update(self, profile: CustomerProfile) -> MemoryWrite:
        return MemoryWrite(
            lambda: self.rows.__setitem__((profile.tenant_id, profile.customer_id), profile)
        )

    def delete(self, tenant_id: UUID, customer_id: UUID) -> MemoryWrite:
        return MemoryWrite(lambda: self.rows.pop((tenant_id, customer_id), None))

    def get(self, tenant_id: UUID, customer_id: UUID) -> CustomerProfile | None:
        return self.rows.get((tenant_id, customer_id))

    def page(
        self,
        tenant_id: UUID,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
        phone_e164: str | None = None,
        name: str | None = None,
    ) -> list[CustomerProfile]:
        rows = sorted(
            (p for p in self.rows.values() if p.tenant_id == tenant_id),
            key=lambda p: (p.created_at, p.customer_id),
        )
        return [
            p
            for p in rows
            if (after is None or (p.created_at, p.customer_id) > after)
            and (phone_e164 is None or p.phone_e164 == phone_e164)
            and (name is None or name.lower() in p.name.lower())
        ][:limit]


def customer_world(
    profiles: InMemoryCustomerProfiles | None = None, app: TransactionSpy | None = None
) -> tuple[World, InMemoryCustomerProfiles]:
    """A fresh tenant on an in-memory app whose recorder applies side writes; tenants sharing
    ``app`` share the personal-data store when given the same ``profiles``."""
    profiles = profiles or InMemoryCustomerProfiles()
    if app is None:
        app = TransactionSpy(
            env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(MORNING)
        )
    return make_world(app=app, profiles=profiles), profiles
