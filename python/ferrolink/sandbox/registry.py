"""Which emulators exist: name -> "module:Class", imported only when started."""

from __future__ import annotations

import importlib

from .._services import SERVICES
from .service import Service

__all__ = ["EMULATORS", "create"]

# The HTTP echo server (for the transport) first, then every service of the table.
EMULATORS: dict[str, str] = {
    "echo": "ferrolink.sandbox.echo:EchoService",
    **{info.name: info.emulator for info in SERVICES},
}


def create(name: str) -> Service:
    try:
        target = EMULATORS[name]
    except KeyError:
        known = ", ".join(EMULATORS)
        raise ValueError(f"unknown sandbox service {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    service: Service = cls()
    return service
