"""Which emulators exist: name -> "module:Class", imported only when started."""

from __future__ import annotations

import importlib

from .._services import SERVICES
from .service import Service

__all__ = ["EMULATORS", "create", "emulator_class"]

# The HTTP echo server (for the transport) first, then every service of the table.
EMULATORS: dict[str, str] = {
    "echo": "ferrolink.sandbox.echo:EchoService",
    **{info.name: info.emulator for info in SERVICES},
}


def emulator_class(name: str) -> type[Service]:
    """The emulator class of service ``name`` (its module is imported now)."""
    try:
        target = EMULATORS[name]
    except KeyError:
        known = ", ".join(EMULATORS)
        raise ValueError(f"unknown sandbox service {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    cls: type[Service] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create(name: str) -> Service:
    return emulator_class(name)()
