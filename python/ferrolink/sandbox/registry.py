"""Which emulators exist: name -> "module:Class", imported only when started."""

from __future__ import annotations

import importlib

from .service import Service

__all__ = ["EMULATORS", "create"]

# Each service issue adds its emulator here, in the order `ferrolink sandbox` lists them.
EMULATORS: dict[str, str] = {
    "echo": "ferrolink.sandbox.echo:EchoService",
    "hexonet": "ferrolink.sandbox.hexonet:HexonetService",
    "dsync": "ferrolink.sandbox.dsync:DsyncService",
    "myqtthub": "ferrolink.sandbox.myqtthub:MyQttHubService",
    "idigi": "ferrolink.sandbox.idigi:IdigiService",
    "exp": "ferrolink.sandbox.exp:ExpService",
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
