"""The in-memory idempotency store keeps the applied-command contract."""

from __future__ import annotations

import pytest

from tests.idempotency_applied_contract import AppliedCommandContract
from tests.memory_idempotency_store import MemoryIdempotencyStore


class TestMemoryStoreAppliedCommands(AppliedCommandContract):
    @pytest.fixture
    def make_store(self):
        return lambda clock: MemoryIdempotencyStore(clock)

    @pytest.fixture
    def commit_side_write(self):
        return lambda write: write.apply(None)
