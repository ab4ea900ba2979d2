"""Channels of the asyncio EXP runtime: the sync channel API, awaited.

``listen()`` gives an :class:`AsyncListener` to iterate with ``async for``; ``request()``,
``broadcast()``, ``respond()`` are coroutines. Broadcasts come from the event bus's thread
with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from .channels import ChannelName, Message, fling_payload
from .errors import ExpError, NetworkError, RequestTimeout, ResponderError, UsageError
from .replies import (
    answer_of,
    broadcast_call,
    checked_answer,
    failed_answer,
    first_answer,
    respond_calls,
)
from .sdk import fixed_channel_name, uuid_of

if TYPE_CHECKING:
    from .async_sdk import AsyncExp

__all__ = [
    "AsyncBroadcast",
    "AsyncChannel",
    "AsyncChannels",
    "AsyncFixedChannel",
    "AsyncListener",
    "AsyncResponder",
    "call_in_loop",
]

log = logging.getLogger("ferrolink.exp")


def call_in_loop(loop: asyncio.AbstractEventLoop, deliver: Callable[..., None], *args: Any) -> None:
    """Run ``deliver(*args)`` on ``loop`` from a bus thread (dropped once the loop closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(deliver, *args)


class AsyncBroadcast(Message):
    """A broadcast received by an async runtime; ``await respond(x)`` answers it."""

    _sdk: AsyncExp

    async def respond(self, response: Any) -> None:
        """Answer this broadcast (announced, then posted to ``/responses``)."""
        for call in respond_calls(self.id, self.channel, response):
            await self._sdk.session.call(call)


class AsyncListener:
    """Broadcasts of one name on one channel, for ``async for message in listener``.

    ``await listener`` waits until the channel is subscribed (iterating does too), so a
    broadcast sent after it is never missed. Messages older than ``max_age`` s are skipped;
    :meth:`wait` is the 5.0 ``wait(timeout)``; :meth:`cancel` ends the iteration.
    """

    def __init__(
        self, sdk: AsyncExp, channel: str, name: str, timeout: float, max_age: float
    ) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise UsageError("listen() of an async channel needs a running event loop") from None
        self._sdk = sdk
        self.channel = channel
        self.name = name
        self.timeout = timeout
        self.max_age = max_age
        self._buffer: deque[AsyncBroadcast] = deque()
        self._arrived = asyncio.Event()
        self._subscribed = False
        self.cancelled = False
        sdk.bus.add_listener(self)

    # -- the bus side (any thread) ---------------------------------------------------------

    def deliver(self, message: dict[str, Any]) -> None:
        if not self.cancelled:
            call_in_loop(self._loop, self._put, AsyncBroadcast(self._sdk, message))

    def close(self) -> None:
        self.cancelled = True
        call_in_loop(self._loop, self._arrived.set)

    # -- the loop side ---------------------------------------------------------------------

    def _put(self, broadcast: AsyncBroadcast) -> None:
        self._buffer.append(broadcast)
        self._prune()
        self._arrived.set()

    def _prune(self) -> None:
        """Drop what is older than ``max_age``: an idle listener's buffer stays bounded."""
        limit = time.monotonic() - self.max_age
        while self._buffer and self._buffer[0].received < limit:
            self._buffer.popleft()

    async def subscribed(self) -> AsyncListener:
        """Wait until the channel is subscribed (``NetworkError`` after ``timeout``)."""
        if not self._subscribed:
            bus = self._sdk.bus
            if not await self._sdk._until(lambda: bus.is_subscribed(self.channel), self.timeout):
                self.cancel()
                raise NetworkError("Listen timed out.")
            self._subscribed = True
        return self

    def __await__(self) -> Any:
        return self.subscribed().__await__()

    def __aiter__(self) -> AsyncListener:
        return self

    async def __anext__(self) -> AsyncBroadcast:
        await self.subscribed()
        while True:
            self._prune()
            if self._buffer:
                return self._buffer.popleft()
            if self.cancelled:
                raise StopAsyncIteration
            self._arrived.clear()
            await self._arrived.wait()

    async def wait(self, timeout: float = 0) -> Optional[AsyncBroadcast]:
        """The oldest buffered broadcast, waiting up to ``timeout`` s; else ``None``."""
        try:
            return await asyncio.wait_for(self.__anext__(), max(timeout, 0) or 1e-6)
        except (asyncio.TimeoutError, StopAsyncIteration):
            return None

    def cancel(self) -> None:
        self.close()
        self._sdk.bus.remove_listener(self)

    def __repr__(self) -> str:
        return f"<AsyncListener {self.name!r} on {self.channel}>"


class AsyncResponder:
    """A running responder: its listener and the task that answers each request in turn.
    ``await cancel()`` ends it; ``sdk.stop()`` ends every one."""

    def __init__(self, sdk: AsyncExp, listener: AsyncListener, task: asyncio.Task[None]) -> None:
        self._sdk = sdk
        self.listener = listener
        self.task = task
        sdk._responders.add(self)

    async def cancel(self) -> None:
        self._sdk._responders.discard(self)
        self.listener.cancel()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class AsyncChannel(ChannelName):
    """A 5.0 channel on an async runtime: awaitable ``broadcast``, ``request``, ``respond``,
    ``fling``, ``identify``; ``listen()`` gives an async iterator."""

    _sdk: AsyncExp

    async def broadcast(self, name: str, payload: Any = None, timeout: float = 0.1) -> list[Any]:
        """Send ``name`` with ``payload``; returns the responses received within ``timeout`` s."""
        reply = await self._sdk.session.call(broadcast_call(self.id, name, payload, timeout))
        return reply if isinstance(reply, list) else []

    def listen(self, name: str, timeout: float = 10, max_age: float = 60) -> AsyncListener:
        """An :class:`AsyncListener` for broadcasts named ``name`` (iterate or await it)."""
        if not isinstance(name, str):
            raise UsageError(f"listen name must be a string, got {type(name).__name__}")
        self._sdk._check()
        return AsyncListener(self._sdk, self.id, name, timeout, max_age)

    async def request(self, name: str, payload: Any = None, timeout: float = 10.0) -> Any:
        """Broadcast ``name``; the first response, as soon as a ferrolink responder announces
        it, else when the window closes (``Timeout`` / ``Error`` as the sync request)."""
        sdk = self._sdk
        channel = self.id
        call = broadcast_call(channel, name, payload, timeout)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        pending = None
        bus = sdk.bus
        if bus.watch(channel) and await sdk._until(
            lambda: bus.is_subscribed(channel), sdk.session.timeout
        ):
            pending = bus.replies.expect(
                channel,
                name,
                payload,
                lambda response: call_in_loop(loop, _settle, answer, answer_of, response),
            )
        post = asyncio.ensure_future(sdk.session.call(call))

        def posted(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                return
            exc = task.exception()
            if exc is not None:
                _settle(answer, _raise, exc)
            else:
                _settle(answer, lambda r: first_answer(r, name, call.window), task.result())

        post.add_done_callback(posted)
        try:
            return await asyncio.wait_for(answer, call.window + sdk.session.timeout + 1)
        except asyncio.TimeoutError:
            raise RequestTimeout(f"no response to {name!r} within {timeout:g} s") from None
        finally:
            if pending is not None:
                bus.replies.forget(pending)
            post.cancel()  # answered (or given up): the held-open POST is moot

    async def respond(
        self,
        name: str,
        callback: Callable[[Any], Union[Any, Awaitable[Any]]],
        timeout: float = 10,
    ) -> AsyncResponder:
        """Answer every request ``name`` with ``callback(payload)`` (a coroutine function or
        a plain one; either runs on the loop). Requests are answered one at a time."""
        listener = await self.listen(name, timeout=timeout)

        async def serve() -> None:
            async for ask in listener:
                try:
                    result = callback(ask.payload)
                    if inspect.isawaitable(result):
                        result = await result
                    result = checked_answer(result)
                except Exception as exc:  # the requester gets Channel.Error with this message
                    result = failed_answer(name, exc)
                try:
                    await ask.respond(result)
                except ExpError as exc:
                    log.warning("responder %r could not answer: %s", name, exc)

        return AsyncResponder(self._sdk, listener, asyncio.ensure_future(serve()))

    async def fling(self, payload: Any, timeout: float = 0.1) -> None:
        """Broadcast ``fling`` (a uuid string as in :meth:`.channels.Channel.fling`)."""
        await self.broadcast("fling", fling_payload(payload), timeout)

    async def identify(self, timeout: float = 0.1) -> None:
        await self.broadcast("identify", None, timeout)


def _raise(exc: BaseException) -> Any:
    raise exc


def _settle(future: asyncio.Future[Any], read: Callable[[Any], Any], value: Any) -> None:
    """Resolve ``future`` with ``read(value)`` (or what it raised) unless already resolved:
    the announcement and the held-open POST race, and the first one wins."""
    if future.done():
        return
    try:
        future.set_result(read(value))
    except Exception as exc:
        future.set_exception(exc)


class AsyncFixedChannel:
    """``sdk.channels.<name>`` of an :class:`AsyncExp`: the module-level channel API,
    awaited (``listen(name)`` gives an async iterator instead of taking a callback)."""

    Timeout = RequestTimeout
    Error = ResponderError

    def __init__(self, sdk: AsyncExp, kind: str, uuid: Optional[str] = None) -> None:
        self._sdk = sdk
        self.kind = kind
        self.uuid = uuid
        self.channel: Optional[AsyncChannel] = None
        if uuid is not None:
            self.channel = AsyncChannel(sdk, uuid)

    def _channel(self) -> AsyncChannel:
        self._sdk._check()
        if self.channel is None:
            raise UsageError("await sdk.start() first")
        return self.channel

    async def broadcast(self, name: str, payload: Any = None) -> None:
        """Fire and forget (no response window)."""
        await self._channel().broadcast(name, payload, timeout=0)

    def listen(self, name: str) -> AsyncListener:
        return self._channel().listen(name, timeout=self._sdk.session.timeout)

    async def request(
        self, name: str, target: Any = None, payload: Any = None, timeout: float = 10.0
    ) -> Any:
        """The first response to ``name`` (``target`` is accepted and not used)."""
        return await self._channel().request(name, payload, timeout)

    async def respond(
        self, name: str, callback: Callable[[Any], Union[Any, Awaitable[Any]]]
    ) -> AsyncResponder:
        """Answer requests ``name``; replaces this runtime's earlier responder for it."""
        return await self._sdk.channels._respond(self._channel(), name, callback)

    async def fling(self, uuid: Any) -> None:
        await self._channel().fling(uuid)

    async def identify(self) -> None:
        await self._channel().identify()

    def __repr__(self) -> str:
        bound = f" {self.uuid}" if self.uuid else ""
        return f"<sdk.channels.{self.kind}{bound}>"


class AsyncChannels:
    """``sdk.channels`` of an :class:`AsyncExp`: the four fixed channels, resolved at start
    exactly as the sync runtime resolves them, plus ``experience_of`` / ``location_of``."""

    def __init__(self, sdk: AsyncExp) -> None:
        self._sdk = sdk
        self.system = AsyncFixedChannel(sdk, "system")
        self.organization = AsyncFixedChannel(sdk, "organization")
        self.experience = AsyncFixedChannel(sdk, "experience")
        self.location = AsyncFixedChannel(sdk, "location")
        self._responders: dict[tuple[str, str], AsyncResponder] = {}

    async def _resolve(self) -> None:
        sdk = self._sdk
        for fixed in (self.system, self.organization, self.experience, self.location):
            name = await sdk.session.run(fixed_channel_name(sdk, fixed.kind, sdk._settings.bound))
            fixed.channel = AsyncChannel(sdk, name, system=fixed.kind == "system")

    async def _respond(
        self,
        channel: AsyncChannel,
        name: str,
        callback: Callable[[Any], Union[Any, Awaitable[Any]]],
    ) -> AsyncResponder:
        key = (channel.id, name)
        previous = self._responders.pop(key, None)
        if previous is not None:
            await previous.cancel()
        responder = self._responders[key] = await channel.respond(
            name, callback, timeout=self._sdk.session.timeout
        )
        return responder

    def get_channel(self, name: str, system: bool = False, consumer: bool = False) -> AsyncChannel:
        return self._sdk.get_channel(name, system=system, consumer=consumer)

    def experience_of(self, experience: Any) -> AsyncFixedChannel:
        """The experience channel of ``experience`` (a uuid or an :class:`Experience`)."""
        return AsyncFixedChannel(self._sdk, "experience", uuid_of(experience))

    def location_of(self, location: Any) -> AsyncFixedChannel:
        """The location channel of ``location`` (a uuid or a :class:`Location`)."""
        return AsyncFixedChannel(self._sdk, "location", uuid_of(location))
