"""The in-memory idempotency store used by the middleware tests keeps the store contract."""

from __future__ import annotations

import pytest

from tests.idempotency_contract import IdempotencyStoreContract
from tests.memory_idempotency_store import MemoryIdempotencyStore


class TestMemoryIdempotencyStore(IdempotencyStoreContract):
    @pytest.fixture
    def make_store(self):
        return lambda clock: MemoryIdempotencyStore(clock)
