"""A TCP proxy in front of a Redis server that a test can cut and restore: a process whose
``REDIS_URL`` is the proxy's loses Redis (open connections die, new ones are refused) while every
other process keeps its own connection."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import parse_qs, urlparse


class CuttableProxy:
    def __init__(self, upstream_url: str) -> None:
        parsed = urlparse(upstream_url)
        if parsed.scheme == "unix":
            self.family, self.address = socket.AF_UNIX, parsed.path
            database = parse_qs(parsed.query).get("db", ["0"])[0]
        else:
            self.family = socket.AF_INET
            self.address = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
            database = parsed.path.strip("/") or "0"
        self.listener: socket.socket | None = None
        self.port = 0
        self.url = ""
        self.database = database
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> CuttableProxy:
        """Listen (again, on the same port after a cut) and forward every connection."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/{self.database}"
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        if self.listener is not None:
            # shutdown() first: a bare close() leaves the accepting thread's accept() running.
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for open_socket in self.sockets:
                with contextlib.suppress(OSError):
                    open_socket.shutdown(socket.SHUT_RDWR)
                open_socket.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.socket(self.family, socket.SOCK_STREAM)
            try:
                upstream.connect(self.address)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update({client, upstream})
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
