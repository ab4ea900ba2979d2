"""The services ferrolink speaks, in one table: the sandbox, ``ferrolink demo`` and the CLI read it.

Adding a service touches its package (``ferrolink.<name>``, with ``cli.py`` and ``demo.py``),
its emulator under ``ferrolink.sandbox`` and one row here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SERVICES", "ServiceInfo"]


@dataclass(frozen=True)
class ServiceInfo:
    """One service: where its parts live, as importable ``"module"`` / ``"module:name"``."""

    name: str  #: sandbox name, CLI subcommand, logger suffix and package: ``ferrolink.<name>``
    title: str  #: how people write it
    summary: str
    emulator: str  #: the sandbox :class:`~ferrolink.sandbox.Service` subclass
    cli: str  #: module with ``register(subparsers)`` adding ``ferrolink <name> ...``
    demo: str  #: ``demo(sandbox, report)`` run by ``ferrolink demo``

    @property
    def package(self) -> str:
        return f"ferrolink.{self.name}"


#: In the order the sandbox starts them and ``ferrolink demo`` runs them.
SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo(
        "hexonet",
        "HEXONET",
        "domain-reseller API: plain-text commands and responses over HTTPS",
        "ferrolink.sandbox.hexonet:HexonetService",
        "ferrolink.hexonet.cli",
        "ferrolink.hexonet.demo:demo",
    ),
    ServiceInfo(
        "dsync",
        "DSYNC",
        "realtime data-sync REST API and data-layout generation",
        "ferrolink.sandbox.dsync:DsyncService",
        "ferrolink.dsync.cli",
        "ferrolink.dsync.demo:demo",
    ),
    ServiceInfo(
        "myqtthub",
        "MyQttHub",
        "MQTT broker with an HTTPS REST bridge and base64 payloads",
        "ferrolink.sandbox.myqtthub:MyQttHubService",
        "ferrolink.myqtthub.cli",
        "ferrolink.myqtthub.demo:demo",
    ),
    ServiceInfo(
        "idigi",
        "iDigi push monitoring",
        "device-cloud events pushed over a framed TCP/TLS protocol with zlib payloads",
        "ferrolink.sandbox.idigi:IdigiService",
        "ferrolink.idigi.cli",
        "ferrolink.idigi.demo:demo",
    ),
    ServiceInfo(
        "exp",
        "EXP",
        "digital-experience platform: REST resources and a realtime event bus",
        "ferrolink.sandbox.exp:ExpService",
        "ferrolink.exp.cli",
        "ferrolink.exp.demo:demo",
    ),
)
