"""CPU seconds of whole process trees, from ``/proc`` (through psutil): a server and its workers,
or PostgreSQL's postmaster and every backend and helper it forked.

A tree's total is the ``utime + stime`` of each live process in it, plus the ``cutime + cstime``
its members hold for children they already reaped: a PostgreSQL backend or a uvicorn worker that
exited during a run still counts, since its parent (the postmaster, the uvicorn supervisor)
waited for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import psutil
import psycopg
import redis


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of ``root_pid`` and its descendants, reaped ones included."""
    try:
        root = psutil.Process(root_pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in members:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def postmaster_pid(database_url: str) -> int:
    """The PID of the PostgreSQL server's postmaster: the parent of our own backend. The server
    must run on this machine (the benchmark only uses local ones)."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        # Asked while the connection is open: the backend exits with it.
        parent = psutil.Process(int(row[0])).parent()
    if parent is None:
        raise RuntimeError("the PostgreSQL backend has no parent process on this machine")
    return parent.pid


def redis_server_pid(redis_url: str) -> int | None:
    """The PID of the Redis server at ``redis_url`` (from ``INFO``), when it runs here."""
    client = redis.Redis.from_url(redis_url)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if psutil.pid_exists(pid) else None


@dataclass(frozen=True)
class TreeMeter:
    """Named process trees (``{"api": pid, "postgres": pid, ...}``) read together."""

    roots: Mapping[str, int]

    def read(self) -> dict[str, float]:
        """Cumulative CPU seconds per name, now."""
        return {name: tree_cpu_seconds(pid) for name, pid in self.roots.items()}

    @staticmethod
    def per_operation_ms(
        before: Mapping[str, float], after: Mapping[str, float], operations: int
    ) -> dict[str, float]:
        """CPU milliseconds per operation of each tree between two readings."""
        return {name: (after[name] - before[name]) * 1000 / max(operations, 1) for name in after}
