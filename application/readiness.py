"""What a readiness probe reports about the process's stores and roles (a port: the checks
themselves talk to PostgreSQL, Redis and Kafka, so infrastructure implements them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Readiness:
    """The state of the stores and roles this process depends on, checked just now."""

    checks: dict[str, str]
    """``ok`` or what is wrong, per store or service (``postgresql``, ``redis``, ``kafka``,
    ``display_gateway``)."""
    projection_lag: dict[str, int] | None = None
    relay_lag: int | None = None
    roles: dict[str, str] | None = None
    dead_letters: dict[str, int] | None = None

    @property
    def ready(self) -> bool:
        """PostgreSQL and Redis answer: the API can serve."""
        return all(self.checks.get(store) == "ok" for store in ("postgresql", "redis"))

    @property
    def degraded(self) -> bool:
        """Serving, but a role is silent, stalled or behind, a projection set events aside, or
        no display gateway beats."""
        return (
            bool(self.dead_letters)
            or any(state != "ok" for state in (self.roles or {}).values())
            or self.checks.get("display_gateway", "ok") == "silent"
        )

    @property
    def status(self) -> str:
        """``unavailable``, ``degraded`` or ``ok``."""
        return "unavailable" if not self.ready else "degraded" if self.degraded else "ok"


class ReadinessProbe(Protocol):
    """Checks the process's stores and roles."""

    def check(self) -> Readiness:
        """Check everything now; never raises (a failed check is reported in the result)."""
