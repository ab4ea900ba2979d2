"""What every sandbox emulator is: something the runner can start, describe and stop."""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .tls import SandboxTLS

__all__ = ["Environment", "Option", "Service"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One emulator option: its type (``int``, ``float``, ``bool``, ``str``, ``json``) and help.

    The Python API passes options as values; :meth:`parse` turns the command line's text into
    the value the emulator expects.
    """

    type: str
    help: str

    def parse(self, text: str) -> Any:
        if self.type == "int":
            return int(text)
        if self.type == "float":
            return float(text)
        if self.type == "bool":
            lowered = text.strip().lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError(f"expected true or false, got {text!r}")
        if self.type == "json":
            return json.loads(text)
        return text


@dataclass(frozen=True)
class Environment:
    """What the runner hands each emulator: where to listen and how to serve TLS.

    ``ports`` maps a listener kind (``https``, ``http``, ``push_tls``...) to a fixed port;
    a kind it does not name gets an ephemeral one.
    """

    host: str
    tls: SandboxTLS
    options: Mapping[str, Any] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)

    def port(self, kind: str) -> int:
        """The port the listener ``kind`` binds: fixed when configured, else 0 (ephemeral)."""
        return self.ports.get(kind, 0)


class Service(abc.ABC):
    """One emulated service. ``urls`` and ``credentials`` are valid after :meth:`start`."""

    name: str = ""
    #: Every option :meth:`start` reads from ``env.options``, by name (``ferrolink sandbox
    #: --help`` lists them and ``--option SERVICE.KEY=VALUE`` is parsed by them).
    OPTIONS: ClassVar[Mapping[str, Option]] = {}

    @abc.abstractmethod
    def start(self, env: Environment) -> None:
        """Bind loopback ports (``env.port(kind)``) and begin serving in background threads."""

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
