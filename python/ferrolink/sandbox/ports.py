"""Loopback ports for servers that tests, benchmarks and emulators start as child processes."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Optional

__all__ = ["free_port", "wait_for_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    port: int, timeout: float = 10.0, process: Optional[subprocess.Popen[bytes]] = None
) -> None:
    """Block until 127.0.0.1:``port`` accepts a connection (or fail clearly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")
