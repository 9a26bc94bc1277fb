"""A 429 says "later", not "no": a request refused by a rate limit is not kept as the answer of
its Idempotency-Key, so the retry after ``Retry-After`` runs."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from litestar import Litestar, post
from litestar.exceptions import TooManyRequestsException
from litestar.testing import TestClient

from infrastructure.settings import IdempotencySettings
from interfaces.http.errors import EXCEPTION_HANDLERS
from tests.memory_idempotency_store import MemoryIdempotencyStore
from tests.unit.test_idempotency_middleware import OPTIONS, USER


def test_a_rate_limited_request_is_run_again_when_retried_with_its_key():
    effects: list[str] = []
    limited = [True]

    @post("/t/{slug:str}/things", status_code=201, **OPTIONS)
    async def make_thing() -> dict[str, Any]:
        if limited[0]:
            raise TooManyRequestsException(detail="slow down", headers={"Retry-After": "1"})
        effects.append("thing")
        return {"effect": len(effects)}

    def install(app: Litestar) -> None:
        app.state.container = SimpleNamespace(
            idempotency=MemoryIdempotencyStore(lambda: datetime.now(UTC)),
            settings=SimpleNamespace(idempotency=IdempotencySettings(wait_seconds=0.3)),
        )

    app = Litestar(
        route_handlers=[make_thing],
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[install],
        logging_config=None,
    )
    headers = {"Idempotency-Key": "k-429", "X-User": str(USER)}
    with TestClient(app) as client:
        refused = client.post("/t/acme/things", headers=headers)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"

        limited[0] = False
        retried = client.post("/t/acme/things", headers=headers)
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers
        assert effects == ["thing"]
        replayed = client.post("/t/acme/things", headers=headers)
        assert replayed.headers["idempotent-replayed"] == "true"
        assert effects == ["thing"]
