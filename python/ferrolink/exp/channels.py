"""Channels: ids, broadcasts over HTTP, listeners with thread-safe buffers.

A channel id is the padded standard base64 of the compact, ASCII-escaped JSON
``[organization, name, system, consumer]`` (flags as 1/0, system before consumer): the Python
SDK's form, so non-ASCII names give the ids Python clients always computed.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import copy
import json
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional

from .errors import NetworkError, RequestTimeout, ResponderError, UsageError
from .replies import (
    answer_of,
    broadcast_call,
    checked_answer,
    failed_answer,
    first_answer,
    respond_calls,
)

if TYPE_CHECKING:
    from .sdk import Exp

__all__ = [
    "Broadcast",
    "Channel",
    "ChannelName",
    "Listener",
    "Message",
    "channel_id",
    "fling_payload",
]

log = logging.getLogger("ferrolink.exp")

# How long an idle listener worker waits for the next message before its thread ends.
WORKER_IDLE = 1.0


def channel_id(organization: str, name: str, system: bool = False, consumer: bool = False) -> str:
    """The wire id of channel ``name`` in ``organization`` (see the module docstring)."""
    if not isinstance(name, str):
        raise UsageError(f"channel name must be a string, got {type(name).__name__}")
    text = json.dumps(
        [organization, name, 1 if system else 0, 1 if consumer else 0], separators=(",", ":")
    )
    return base64.b64encode(text.encode("ascii")).decode("ascii")


class Message:
    """One received broadcast: ``name``, ``channel`` (id), ``id``, and ``payload``."""

    def __init__(self, sdk: Any, message: dict[str, Any]) -> None:
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id}>"


class Broadcast(Message):
    """A broadcast received by a sync runtime."""

    def respond(self, response: Any) -> None:
        """Answer this broadcast: announced on its channel for ferrolink requesters, then
        ``POST /api/networks/current/responses`` for every other (see :mod:`.replies`)."""
        for call in respond_calls(self.id, self.channel, response):
            self._sdk.session.call(call)


class Listener:
    """Broadcasts of one name on one channel: a FIFO buffer, or a callback.

    Buffered: messages older than ``max_age`` seconds are dropped, and :meth:`wait` blocks on
    the buffer's condition, so a message arriving between its check and its sleep is never
    missed. With a callback: the listener's own worker thread calls it for each message in
    arrival order, so a slow callback delays only its own listener, and a callback may call
    ``request()``, ``broadcast()`` or the REST API. The worker starts on the first message
    and ends after :data:`WORKER_IDLE` seconds without one, or on :meth:`cancel` / ``stop()``.
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
        self._working = False
        self.cancelled = False

    def deliver(self, message: dict[str, Any]) -> None:
        """Called by the event bus for each broadcast of this channel and name."""
        with self._cond:
            if self.cancelled:
                return
            self._buffer.append(Broadcast(self._sdk, message))
            if self.callback is None:
                self._prune()
            elif self._working:
                pass  # the worker picks it up
            else:
                self._working = True
                callback = self.callback
                self._sdk.bus.spawn(lambda: self._work(callback), "listener")
            self._cond.notify_all()

    def _work(self, callback: Callable[[Broadcast], None]) -> None:
        while True:
            with self._cond:
                if not self._buffer and not self.cancelled:
                    self._cond.wait(WORKER_IDLE)
                if not self._buffer or self.cancelled:
                    self._working = False
                    return
                broadcast = self._buffer.popleft()
            try:
                callback(broadcast)
            except Exception:
                log.exception("listener callback for %r failed", self.name)

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
        """Stop listening; a callback worker ends after the message it is handling."""
        self.close()
        self._sdk.bus.remove_listener(self)

    def close(self) -> None:
        with self._cond:
            self.cancelled = True
            if self.callback is not None:
                self._buffer.clear()
            self._cond.notify_all()

    def __repr__(self) -> str:
        return f"<Listener {self.name!r} on {self.channel}>"


class ChannelName:
    """A channel's name and flags, and its wire id in the runtime's organization."""

    Timeout = RequestTimeout
    Error = ResponderError

    def __init__(self, sdk: Any, name: str, system: bool = False, consumer: bool = False) -> None:
        if not isinstance(name, str):
            raise UsageError(f"channel name must be a string, got {type(name).__name__}")
        self._sdk = sdk
        self.name = name
        self.system = bool(system)
        self.consumer = bool(consumer)

    @property
    def id(self) -> str:
        org = self._sdk.session.organization
        if not isinstance(org, str):
            raise UsageError("the login reply has no organization; pass organization= to start()")
        return channel_id(org, self.name, self.system, self.consumer)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} system={self.system} consumer={self.consumer}>"
        )


class Channel(ChannelName):
    """A 5.0 channel: ``broadcast``, ``listen``, ``request``, ``respond``, ``fling``,
    ``identify``."""

    _sdk: Exp

    def broadcast(self, name: str, payload: Any = None, timeout: float = 0.1) -> list[Any]:
        """Send ``name`` with ``payload``; returns the responses received within ``timeout`` s."""
        reply = self._sdk.session.call(broadcast_call(self.id, name, payload, timeout))
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
        """Broadcast ``name`` and return the first response: as soon as a ferrolink responder
        announces it, else when the ``timeout`` s window closes (see :mod:`.replies`).

        Raises ``Timeout`` when nobody answered and ``Error`` when the responder failed.
        """
        channel = self.id
        call = broadcast_call(channel, name, payload, timeout)
        sdk, bus = self._sdk, self._sdk.bus
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        pending = None
        if bus.watch(channel) and bus.wait_subscribed(channel, sdk.session.timeout):
            pending = bus.replies.expect(
                channel, name, payload, lambda response: _settle(answer, answer_of, response)
            )

        def posted(post: concurrent.futures.Future[Any]) -> None:
            if post.cancelled():
                return
            exc = post.exception()
            if exc is not None:
                _fail(answer, exc)
            else:
                _settle(answer, lambda r: first_answer(r, name, call.window), post.result())

        post = sdk.post_request(call)
        post.add_done_callback(posted)
        try:
            return answer.result(call.window + sdk.session.timeout + 1)
        except concurrent.futures.TimeoutError:
            raise RequestTimeout(f"no response to {name!r} within {timeout:g} s") from None
        finally:
            if pending is not None:
                bus.replies.forget(pending)
            post.cancel()  # answered (or given up): the held-open POST is moot

    def respond(self, name: str, callback: Callable[..., Any], timeout: float = 10) -> Listener:
        """Answer every request ``name`` with ``callback(payload)`` (JSON-serialisable)."""

        def answer(broadcast: Broadcast) -> None:
            try:
                result = checked_answer(callback(broadcast.payload))
            except Exception as exc:  # the requester gets Channel.Error with this message
                result = failed_answer(name, exc)
            broadcast.respond(result)

        return self.listen(name, timeout=timeout, callback=answer)

    def fling(self, payload: Any, timeout: float = 0.1) -> None:
        """Broadcast ``fling``. A uuid string becomes ``{"uuid": u, "appTemplate": {"uuid": u}}``,
        which both module-level and 5.0-era players understand; a dict is sent as is."""
        self.broadcast("fling", fling_payload(payload), timeout)

    def identify(self, timeout: float = 0.1) -> None:
        """Broadcast ``identify`` (players show their identity)."""
        self.broadcast("identify", None, timeout)


def fling_payload(payload: Any) -> Any:
    """A uuid string becomes ``{"uuid": u, "appTemplate": {"uuid": u}}``; others are as is."""
    if isinstance(payload, str):
        return {"uuid": payload, "appTemplate": {"uuid": payload}}
    return payload


def _settle(future: concurrent.futures.Future[Any], read: Callable[[Any], Any], value: Any) -> None:
    """Resolve ``future`` with ``read(value)`` (or what it raised) unless already resolved:
    the announcement and the held-open POST race, and the first one wins."""
    try:
        result = read(value)
    except BaseException as exc:
        _fail(future, exc)
        return
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_result(result)


def _fail(future: concurrent.futures.Future[Any], exc: BaseException) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        future.set_exception(exc)
