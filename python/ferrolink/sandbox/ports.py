"""Loopback ports: ephemeral ones for child servers, and the sandbox's fixed layout.

``ferrolink sandbox --port-base N`` puts every listener at its offset in :data:`PORT_OFFSETS`
from N, so the URLs an app is configured with stay the same from one run to the next.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from typing import Optional

from ..errors import FerrolinkError

__all__ = [
    "PORT_OFFSETS",
    "PORT_SPAN",
    "PortInUseError",
    "check_free",
    "describe_layout",
    "fixed_ports",
    "free_port",
    "wait_for_port",
]

#: Offsets from ``--port-base`` of each service's listeners, by listener kind.
PORT_OFFSETS: dict[str, dict[str, int]] = {
    "hexonet": {"https": 0, "http": 1},
    "exp": {"https": 10},
    "idigi": {"https": 20, "http": 21, "push_tls": 22, "push": 23},
    "myqtthub": {"https": 30, "http": 31},
    "dsync": {"https": 40, "http": 41},
    "echo": {"https": 45, "http": 46},
}
#: Every fixed port lies in ``base .. base + PORT_SPAN - 1``.
PORT_SPAN = 50


class PortInUseError(FerrolinkError):
    """A fixed sandbox port is already taken by another program."""


def describe_layout() -> str:
    """The fixed layout as text, one service a line: ``idigi  https N+20, http N+21, ...``."""
    width = max(len(name) for name in PORT_OFFSETS)
    return "\n".join(
        f"{name:<{width}}  " + ", ".join(f"{kind} N+{offset}" for kind, offset in kinds.items())
        for name, kinds in PORT_OFFSETS.items()
    )


def fixed_ports(service: str, base: int) -> dict[str, int]:
    """The ports of ``service``'s listeners for ``--port-base base``."""
    if not 1 <= base <= 65536 - PORT_SPAN:
        raise ValueError(f"port base must be between 1 and {65536 - PORT_SPAN}, got {base}")
    return {kind: base + offset for kind, offset in PORT_OFFSETS.get(service, {}).items()}


def check_free(host: str, service: str, ports: dict[str, int]) -> None:
    """Raise :class:`PortInUseError` naming the first of ``ports`` that cannot be bound."""
    for kind, port in ports.items():
        with socket.socket() as probe:
            if os.name != "nt":  # on Windows the flag would let the probe share a live port
                # The servers bind with it too: a port left in TIME_WAIT counts as free.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise PortInUseError(
                    f"port {port} on {host} ({service} {kind}) is not available: {exc.strerror}",
                    host=host,
                ) from None


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
