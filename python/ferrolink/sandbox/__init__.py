"""``ferrolink.sandbox``: every service emulated on loopback, with real TLS.

>>> with ferrolink.sandbox.start() as sb:
...     client = ferrolink.http.Client(ca_file=sb.ca_file)
...     client.get(sb.url("echo") + "/echo")

Each emulator listens on ephemeral 127.0.0.1 ports (or, with ``port_base``, on the fixed ports
of :data:`~ferrolink.sandbox.ports.PORT_OFFSETS`) and serves TLS with a CA generated for this
run only (``sb.ca_file``). ``sb.credentials(name)`` gives the test accounts.

What an emulator may share with the clients
-------------------------------------------
An emulator is there to catch client bugs, so it shares only code that cannot hide one.

- It may import a service's codec from the client package: the encoders and decoders of the
  wire format and the format's own definitions (what a well-formed message is, which topics an
  MQTT filter matches), one codec used in both directions (:mod:`ferrolink.idigi.codec`,
  :mod:`ferrolink.exp.eio`, the JWT functions of ``ferrolink._core``,
  :mod:`ferrolink.myqtthub.topics`, :mod:`ferrolink.dsync.rules`). A round trip through one
  codec cannot catch that codec's bugs, so every codec is tested on its own against the
  protocol's documented examples.
- It writes everything else itself: business rules (what a command does, which code or status
  a bad request gets), accounts and authentication, sessions, state, paging, delivery (queues,
  batches, replays), fault modes and the rendering of replies the client parses without a
  shared codec (HEXONET's ``[RESPONSE]`` text). Shared, a bug there would pass every
  end-to-end test.
- It never imports a client class or session (``APIClient``, ``Exp``, ``PushClient`` ...).
  Code that plays the real service's part towards the user's own code, and so talks to no
  ferrolink client, may come from the client package: the DSYNC sandbox registers connectors
  with :class:`ferrolink.dsync.ConnectorClient`.

``tests/test_sandbox_imports.py`` lists the shared modules and checks every emulator's imports.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from .ports import check_free, fixed_ports
from .registry import EMULATORS, create
from .service import Environment, Option, Service
from .tls import SandboxTLS, create_tls

__all__ = ["EMULATORS", "Environment", "Option", "Sandbox", "Service", "start"]


class Sandbox:
    """A running set of emulators. Use as a context manager or call :meth:`stop`."""

    def __init__(self, host: str, tls: SandboxTLS, directory: Path) -> None:
        self.host = host
        self.tls = tls
        self.directory = directory
        self.services: dict[str, Service] = {}

    @property
    def ca_file(self) -> str:
        """PEM file of the throwaway CA every sandbox TLS port is signed by."""
        return str(self.tls.ca_file)

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            raise KeyError(f"sandbox service {name!r} is not running") from None

    def url(self, name: str, kind: Optional[str] = None) -> str:
        """The base URL of service ``name`` (its first endpoint unless ``kind`` is given)."""
        urls = self.service(name).urls
        if kind is None:
            return next(iter(urls.values()))
        try:
            return urls[kind]
        except KeyError:
            raise KeyError(f"sandbox service {name!r} has no {kind!r} endpoint") from None

    def credentials(self, name: str) -> dict[str, str]:
        return self.service(name).credentials

    def summary(self) -> str:
        """Human-readable URLs and credentials of every running service."""
        lines = [f"CA file: {self.ca_file}"]
        for name, service in self.services.items():
            lines.append(f"{name}:")
            for kind, url in service.urls.items():
                lines.append(f"  {kind:<10} {url}")
            for key, value in service.credentials.items():
                lines.append(f"  {key:<10} {value}")
        return "\n".join(lines)

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        self.services.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.host} services={list(self.services)}>"


def start(
    services: Optional[Iterable[str]] = None,
    *,
    host: str = "127.0.0.1",
    options: Optional[Mapping[str, Mapping[str, Any]]] = None,
    port_base: Optional[int] = None,
) -> Sandbox:
    """Start ``services`` (default: all) on ``host`` and return the running :class:`Sandbox`.

    ``options`` maps a service name to its emulator options (each emulator's ``OPTIONS``).
    ``port_base`` puts every listener on its fixed port (see :mod:`ferrolink.sandbox.ports`);
    a port already taken raises :class:`~ferrolink.sandbox.ports.PortInUseError`.
    """
    names = list(EMULATORS) if services is None else list(services)
    directory = Path(tempfile.mkdtemp(prefix="ferrolink-sandbox-"))
    hosts = tuple(dict.fromkeys(("127.0.0.1", "localhost", host)))
    sandbox = Sandbox(host, create_tls(directory, hosts), directory)
    try:
        for name in names:
            service = create(name)
            ports = {} if port_base is None else fixed_ports(name, port_base)
            check_free(host, name, ports)
            env = Environment(host, sandbox.tls, dict((options or {}).get(name, {})), ports)
            service.start(env)
            sandbox.services[name] = service
    except BaseException:
        sandbox.stop()
        raise
    return sandbox
