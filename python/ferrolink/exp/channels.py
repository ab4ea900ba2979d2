"""Channels: ids, broadcasts over HTTP, listeners with thread-safe buffers.

A channel id is the padded standard base64 of the compact, ASCII-escaped JSON
``[organization, name, system, consumer]`` (flags as 1/0, system before consumer): the Python
SDK's form, so non-ASCII names give the ids Python clients always computed.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from .errors import NetworkError, RequestTimeout, ResponderError, UsageError

if TYPE_CHECKING:
    from .sdk import Exp

__all__ = ["Broadcast", "Channel", "Listener", "channel_id"]

# A responder that raised answers with this envelope; requesters turn it into Channel.Error.
ERROR_KEY = "$error"


def channel_id(organization: str, name: str, system: bool = False, consumer: bool = False) -> str:
    """The wire id of channel ``name`` in ``organization`` (see the module docstring)."""
    if not isinstance(name, str):
        raise UsageError(f"channel name must be a string, got {type(name).__name__}")
    text = json.dumps(
        [organization, name, 1 if system else 0, 1 if consumer else 0], separators=(",", ":")
    )
    return base64.b64encode(text.encode("ascii")).decode("ascii")


class Broadcast:
    """One received broadcast: ``name``, ``channel`` (id), ``id``, and ``payload``."""

    def __init__(self, sdk: Exp, message: dict[str, Any]) -> None:
        self._sdk = sdk
        self.id: Optional[str] = message.get("id")
        self.channel: Optional[str] = message.get("channel")
        self.name: Optional[str] = message.get("name")
        self._payload = message.get("payload")
        self.received = time.monotonic()

    @property
    def payload(self) -> Any:
        """A fresh deep copy on every access, so listeners cannot affect each other."""
        return copy.deepcopy(self._payload)

    def respond(self, response: Any) -> None:
        """Answer this broadcast (``POST /api/networks/current/responses``)."""
        self._sdk.session.request(
            "POST",
            "/api/networks/current/responses",
            payload={"id": self.id, "channel": self.channel, "payload": response},
        )

    def __repr__(self) -> str:
        return f"<Broadcast {self.name!r} id={self.id}>"


class Listener:
    """Broadcasts of one name on one channel: a FIFO buffer, or a callback on a worker thread.

    Messages older than ``max_age`` seconds are dropped. :meth:`wait` blocks on the buffer's
    condition, so a message arriving between its check and its sleep is never missed.
    """

    def __init__(
        self,
        sdk: Exp,
        channel: str,
        name: str,
        max_age: float = 60.0,
        callback: Optional[Callable[[Broadcast], None]] = None,
    ) -> None:
        self._sdk = sdk
        self.channel = channel
        self.name = name
        self.max_age = max_age
        self.callback = callback
        self._buffer: deque[Broadcast] = deque()
        self._cond = threading.Condition()
        self.cancelled = False

    def deliver(self, broadcast: Broadcast) -> None:
        if self.cancelled:
            return
        if self.callback is not None:
            self._sdk.bus.dispatch(self.callback, broadcast)
            return
        with self._cond:
            self._buffer.append(broadcast)
            self._prune()
            self._cond.notify_all()

    def _prune(self) -> None:
        limit = time.monotonic() - self.max_age
        while self._buffer and self._buffer[0].received < limit:
            self._buffer.popleft()

    def wait(self, timeout: float = 0) -> Optional[Broadcast]:
        """The oldest buffered broadcast, waiting up to ``timeout`` seconds; else ``None``."""
        deadline = time.monotonic() + max(timeout, 0)
        with self._cond:
            while True:
                self._prune()
                if self._buffer:
                    return self._buffer.popleft()
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.cancelled:
                    return None
                self._cond.wait(remaining)

    def cancel(self) -> None:
        self.cancelled = True
        self._sdk.bus.remove_listener(self)
        with self._cond:
            self._cond.notify_all()

    def __repr__(self) -> str:
        return f"<Listener {self.name!r} on {self.channel}>"


class Channel:
    """A 5.0 channel: ``broadcast``, ``listen``, ``fling``, ``identify``."""

    Timeout = RequestTimeout
    Error = ResponderError

    def __init__(self, sdk: Exp, name: str, system: bool = False, consumer: bool = False) -> None:
        if not isinstance(name, str):
            raise UsageError(f"channel name must be a string, got {type(name).__name__}")
        self._sdk = sdk
        self.name = name
        self.system = bool(system)
        self.consumer = bool(consumer)

    @property
    def id(self) -> str:
        org = self._sdk.session.organization
        if org is None:
            raise UsageError("the login reply has no organization; pass organization= to start()")
        return channel_id(org, self.name, self.system, self.consumer)

    def broadcast(self, name: str, payload: Any = None, timeout: float = 0.1) -> list[Any]:
        """Send ``name`` with ``payload``; returns the responses received within ``timeout`` s."""
        if not isinstance(name, str):
            raise UsageError(f"broadcast name must be a string, got {type(name).__name__}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise UsageError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
        session = self._sdk.session
        reply = session.request(
            "POST",
            "/api/networks/current/broadcasts",
            params={"timeout": int(timeout * 1000)},
            payload={"channel": self.id, "name": name, "payload": payload},
            timeout=session.timeout + timeout,  # the server holds the call for its window
        )
        return reply if isinstance(reply, list) else []

    def listen(
        self,
        name: str,
        timeout: float = 10,
        max_age: float = 60,
        callback: Optional[Callable[[Broadcast], None]] = None,
        wait: bool = True,
    ) -> Listener:
        """A :class:`Listener` for broadcasts named ``name``; blocks until subscribed.

        Raises :class:`NetworkError` when the subscription is not confirmed within
        ``timeout`` (``wait=False`` returns at once; the subscription follows on connect).
        """
        listener = Listener(self._sdk, self.id, name, max_age, callback)
        self._sdk.bus.add_listener(listener)
        if wait and not self._sdk.bus.wait_subscribed(listener.channel, timeout):
            listener.cancel()
            raise NetworkError("Listen timed out.")
        return listener

    def request(self, name: str, payload: Any = None, timeout: float = 10.0) -> Any:
        """Broadcast and return the first response (``Timeout`` when none, ``Error`` if failed)."""
        responses = self.broadcast(name, payload, timeout)
        if not responses:
            raise RequestTimeout(f"no response to {name!r} within {timeout:g} s")
        first = responses[0]
        if isinstance(first, dict) and set(first) == {ERROR_KEY}:
            raise ResponderError(str(first[ERROR_KEY]))
        return first

    def respond(self, name: str, callback: Callable[..., Any], timeout: float = 10) -> Listener:
        """Answer every request ``name`` with ``callback(payload)`` (JSON-serialisable)."""

        def answer(broadcast: Broadcast) -> None:
            try:
                result = callback(broadcast.payload)
                json.dumps(result)
            except Exception as exc:  # the requester gets Channel.Error with this message
                self._sdk.log.warning("responder %r failed: %s", name, exc)
                broadcast.respond({ERROR_KEY: f"{type(exc).__name__}: {exc}"})
                return
            broadcast.respond(result)

        return self.listen(name, timeout=timeout, callback=answer)

    def fling(self, payload: Any, timeout: float = 0.1) -> None:
        """Broadcast ``fling``. A uuid string becomes ``{"uuid": u, "appTemplate": {"uuid": u}}``,
        which both module-level and 5.0-era players understand; a dict is sent as is."""
        if isinstance(payload, str):
            payload = {"uuid": payload, "appTemplate": {"uuid": payload}}
        self.broadcast("fling", payload, timeout)

    def identify(self, timeout: float = 0.1) -> None:
        """Broadcast ``identify`` (players show their identity)."""
        self.broadcast("identify", None, timeout)

    def __repr__(self) -> str:
        return f"<Channel {self.name!r} system={self.system} consumer={self.consumer}>"
