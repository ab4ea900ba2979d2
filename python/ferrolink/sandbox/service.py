"""What every sandbox emulator is: something the runner can start, describe and stop."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .tls import SandboxTLS

__all__ = ["Environment", "Service"]


@dataclass(frozen=True)
class Environment:
    """What the runner hands each emulator: where to listen and how to serve TLS."""

    host: str
    tls: SandboxTLS
    options: Mapping[str, Any] = field(default_factory=dict)


class Service(abc.ABC):
    """One emulated service. ``urls`` and ``credentials`` are valid after :meth:`start`."""

    name: str = ""

    @abc.abstractmethod
    def start(self, env: Environment) -> None:
        """Bind ephemeral loopback ports and begin serving (in background threads)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving and close every connection; must be idempotent."""

    @property
    @abc.abstractmethod
    def urls(self) -> dict[str, str]:
        """Named endpoints, e.g. ``{"https": "https://127.0.0.1:4711"}``."""

    @property
    def credentials(self) -> dict[str, str]:
        """Test credentials a client can log in with (empty when the service has none)."""
        return {}
