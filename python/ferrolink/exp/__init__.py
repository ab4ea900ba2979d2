"""EXP (Scala's digital-experience platform): REST resources and the realtime event bus.

Module-level API, as the original ``exp`` package::

    from ferrolink import exp
    exp.runtime.start(username=..., password=..., organization=..., host=..., port=...)
    device = exp.api.get_device(uuid)
    exp.channels.organization.broadcast(name="hi", payload={})
    exp.runtime.stop()

Instance API (several identities per process): ``sdk = ferrolink.exp.start(**options)``
with ``sdk.api``, ``sdk.channels``, ``sdk.on``, ``sdk.stop()``, ``sdk.get_channel(...)``.
asyncio: ``async with ferrolink.exp.AsyncExp(**options) as sdk`` (see :mod:`.async_sdk`).
Everything speaks the EXP 5.0 wire protocol. Documented choices where EXP's own documentation
leaves one open: see the README's EXP section.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import eio
from .channels import Broadcast, Channel, Listener, channel_id
from .errors import (
    ApiError,
    AuthenticationError,
    ExpError,
    NetworkError,
    RequestTimeout,
    ResponderError,
    UnexpectedError,
    UsageError,
)
from .resources import (
    Collection,
    Content,
    Data,
    Device,
    Document,
    Experience,
    Feed,
    Location,
    Thing,
    Zone,
)
from .sdk import DEFAULT_HOST, Api, Channels, Exp, stop_all

if TYPE_CHECKING:
    from .async_channels import AsyncBroadcast, AsyncChannel, AsyncListener, AsyncResponder
    from .async_sdk import AsyncExp

# The asyncio runtime loads on first use, so a sync program does not import its modules.
_ASYNC = ("AsyncBroadcast", "AsyncChannel", "AsyncExp", "AsyncListener", "AsyncResponder")


def __getattr__(name: str) -> Any:
    if name in _ASYNC:
        from . import async_channels, async_sdk

        return getattr(async_sdk if name == "AsyncExp" else async_channels, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_HOST",
    "ApiError",
    "AsyncBroadcast",
    "AsyncChannel",
    "AsyncExp",
    "AsyncListener",
    "AsyncResponder",
    "AuthenticationError",
    "Broadcast",
    "Channel",
    "Collection",
    "Content",
    "Data",
    "Device",
    "Document",
    "Exp",
    "ExpError",
    "Experience",
    "Feed",
    "Listener",
    "Location",
    "NetworkError",
    "RequestTimeout",
    "ResponderError",
    "Thing",
    "UnexpectedError",
    "UsageError",
    "Zone",
    "api",
    "channel_id",
    "channels",
    "eio",
    "runtime",
    "start",
    "stop",
]


def start(**options: Any) -> Exp:
    """Log in (and connect the event bus) and return an independent :class:`Exp`."""
    return Exp(**options)


def stop() -> None:
    """Stop every instance, the module-level runtime's included."""
    runtime.stop()
    stop_all()


class Runtime:
    """``exp.runtime``: the one module-level instance (start/stop/on)."""

    def __init__(self) -> None:
        self._instance: Optional[Exp] = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, Callable[..., Any]]] = []

    @property
    def instance(self) -> Exp:
        sdk = self._instance
        if sdk is None:
            raise UsageError("call exp.runtime.start() first")
        return sdk

    def start(
        self,
        host: str = DEFAULT_HOST,
        port: Optional[int] = None,
        **options: Any,
    ) -> Exp:
        """Start the module-level runtime; blocks until the event bus is connected.

        A running runtime is stopped first. Bad credentials raise ``AuthenticationError``.
        """
        with self._lock:
            if self._instance is not None:
                self._instance.stop()
                self._instance = None
            sdk = Exp(host=host, port=port, callbacks=list(self._pending), **options)
            self._instance = sdk
            return sdk

    def stop(self) -> None:
        with self._lock:
            if self._instance is not None:
                self._instance.stop()
                self._instance = None

    def on(self, name: str, callback: Callable[..., Any]) -> None:
        """Register an ``online``/``offline`` callback (kept across restarts)."""
        if name not in ("online", "offline"):
            raise UsageError(f"unknown event {name!r} (use 'online' or 'offline')")
        with self._lock:
            self._pending.append((name, callback))
            if self._instance is not None:
                self._instance.on(name, callback)

    @property
    def is_connected(self) -> bool:
        return self._instance is not None and self._instance.is_connected


runtime = Runtime()
api = Api(lambda: runtime.instance)
channels = Channels(lambda: runtime.instance)
