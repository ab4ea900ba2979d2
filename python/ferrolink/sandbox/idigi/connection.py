"""One accepted push client: its socket and whether it is still open."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

__all__ = ["Connection"]


class Connection:
    """One accepted push client."""

    def __init__(self, sock: socket.socket, peer: Any) -> None:
        self.sock = sock
        self.peer = peer
        self.closed = threading.Event()
        self.write_lock = threading.Lock()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()
