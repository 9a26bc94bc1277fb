"""Side writes as SQL: a plain-table change the recorder executes in the events' transaction
(see :mod:`infrastructure.postgres.recorder`), scoped to its tenant by row-level security."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import Cursor

from infrastructure.postgres.tenancy import set_tenant


@dataclass(frozen=True)
class SqlWrite:
    """One SQL statement for the recorder to execute in its write transaction, for the rows
    of ``tenant_id`` (row-level security admits no other)."""

    statement: str
    params: tuple[Any, ...]
    tenant_id: UUID

    def apply(self, transaction: Cursor[Any]) -> None:
        set_tenant(transaction, self.tenant_id)
        transaction.execute(self.statement, self.params)
