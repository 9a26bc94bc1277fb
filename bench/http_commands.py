"""The fan-out benchmark's commands over HTTP, and signing in to get their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bench.harness import BenchmarkError


@dataclass
class HttpCommands:
    """A lane's commands over HTTP: the kiosk issues, the queue's agent calls, starts, closes."""

    client: httpx.Client
    kiosk_token: str
    agent_token: str

    def _post(self, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = self.client.post(path, json=body or {}, headers=_bearer(token))
        if response.status_code >= 300:
            raise BenchmarkError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response

    def issue(self, queue_id: str) -> str:
        return self._post("tickets/", self.kiosk_token, {"queue_id": queue_id}).json()["id"]

    def call(self, queue_id: str) -> str | None:
        response = self._post("agents/call-next/", self.agent_token, {"queue_id": queue_id})
        return None if response.status_code == 204 else response.json()["id"]

    def start(self, ticket_id: str) -> None:
        self._post(f"tickets/{ticket_id}/start/", self.agent_token)

    def close(self, ticket_id: str) -> None:
        self._post(f"tickets/{ticket_id}/close/", self.agent_token)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(base_url: str, path: str, body: dict[str, str], field: str) -> str:
    with httpx.Client(base_url=base_url, trust_env=False, timeout=30) as client:
        response = client.post(f"/api/v1/{path}", json=body)
        if response.status_code != 200:
            raise BenchmarkError(f"sign-in at {path}: {response.status_code} {response.text}")
        return response.json()[field]
