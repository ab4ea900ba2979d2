"""The asyncio EXP runtime: the sync API's names, awaited.

::

    async with exp.AsyncExp(username=..., password=..., organization=..., host=...) as sdk:
        device = await sdk.api.get_device(uuid)
        device.document.name = "My Device"
        await device.asave()                       # resources: the a-prefixed methods
        async for message in sdk.get_channel("news").listen("hello"):
            ...
        answer = await sdk.channels.location.request("getSomething", payload={})
        await sdk.channels.location.respond("getSomething", handler)  # sync or async handler

REST goes through :class:`ferrolink.http.AsyncClient` and runs the same
:data:`~.session.Flow` as the sync runtime, so both send the same calls. The event bus is the
sync runtime's (its own threads and socket); broadcasts and state changes reach the loop with
``call_soon_threadsafe``. Cancelling a task that awaits ``request()`` aborts its broadcast
POST; an early answer aborts it too, so nothing outlives the call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Awaitable
from typing import Any, Callable, Optional, TypeVar, Union

from ..errors import FerrolinkError, TransportError
from ..http import AsyncClient, Client, Response
from .auth import Credentials
from .channels import ChannelName, Message, fling_payload
from .errors import (
    AuthenticationError,
    ExpError,
    NetworkError,
    RequestTimeout,
    ResponderError,
    UnexpectedError,
    UsageError,
)
from .network import EventBus
from .replies import (
    answer_of,
    broadcast_call,
    checked_answer,
    failed_answer,
    first_answer,
    respond_calls,
)
from .resources import (
    Collection,
    Content,
    Data,
    Device,
    Experience,
    Feed,
    Location,
    Resource,
    Thing,
    Zone,
    create,
    create_data,
    find,
    get,
    get_data,
    remove,
    remove_data,
)
from .sdk import Settings, current_device, current_link, fixed_channel_name, uuid_of
from .session import Call, Flow, Session, SessionState

__all__ = [
    "AsyncApi",
    "AsyncBroadcast",
    "AsyncChannel",
    "AsyncChannels",
    "AsyncExp",
    "AsyncFixedChannel",
    "AsyncListener",
    "AsyncResponder",
    "AsyncSession",
    "RequestLoop",
]

log = logging.getLogger("ferrolink.exp")

T = TypeVar("T")


class AsyncSession(SessionState):
    """REST access for one identity on the running loop; a task refreshes the token."""

    def __init__(
        self,
        host: str,
        credentials: Credentials,
        *,
        timeout: float = 10.0,
        ca_file: Optional[str] = None,
        verify: bool = True,
        organization: Optional[str] = None,
    ) -> None:
        super().__init__(host, credentials, timeout=timeout, organization=organization)
        self.http = AsyncClient(
            timeout=None,
            connect_timeout=self.timeout,
            read_timeout=None,
            ca_file=ca_file,
            verify=verify,
        )
        self._auth_lock = asyncio.Lock()  # one login/refresh at a time
        self._refresh_at: Optional[float] = None
        self._rescheduled = asyncio.Event()
        self._refresher: Optional[asyncio.Task[None]] = None

    async def login(self) -> None:
        """Full login with the stored credentials (``AuthenticationError`` on 401)."""
        async with self._auth_lock:
            await self._login()

    async def refresh(self) -> None:
        """``POST /api/auth/token``; a 401 there means a full login."""
        async with self._auth_lock:
            await self._refresh()

    async def renew(self, stale: str) -> None:
        """Refresh the token ``stale`` unless another task already has."""
        async with self._auth_lock:
            if self._is_stale(stale):
                await self._refresh()

    async def _login(self) -> None:
        if not self.credentials.can_login:
            return
        reply = await self._raw(
            "POST", "/api/auth/login", None, self.credentials.login_body(), None
        )
        self._check_login(reply)
        self._schedule(self._store(reply, "login"))
        log.info("logged in to %s as %s", self.host, self.credentials.kind)

    async def _refresh(self) -> None:
        if not self.credentials.can_login:
            return
        reply = await self._raw("POST", "/api/auth/token", self.token, None, None)
        if reply.status == 401:
            log.info("token refresh refused; logging in again")
            await self._login()
            return
        self._schedule(self._store(reply, "refresh"))
        log.debug("token refreshed")

    def _schedule(self, refresh_at: Optional[float]) -> None:
        if refresh_at is None or self._closed:
            return
        self._refresh_at = refresh_at
        self._rescheduled.set()
        if self._refresher is None:
            self._refresher = asyncio.ensure_future(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            at = self._refresh_at
            self._rescheduled.clear()
            if at is not None and time.time() >= at:
                self._refresh_at = None
                try:
                    await self.refresh()
                except AuthenticationError as exc:
                    log.error("token refresh: credentials rejected (%s); giving up", exc)
                except ExpError as exc:
                    log.warning("token refresh failed (%s); retrying in 2 s", exc)
                    self._refresh_at = time.time() + 2.0
                continue
            wait = None if at is None else at - time.time()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._rescheduled.wait(), wait)

    async def close(self) -> None:
        self._closed = True
        refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[dict[str, Any]] = None,
        payload: Any = None,
        timeout: Optional[float] = None,
        none_on_404: bool = False,
    ) -> Any:
        """Send one call and decode its JSON reply (see :meth:`.session.Session.request`)."""
        return await self.call(Call(method, path, payload, params, none_on_404), timeout)

    async def call(self, call: Call, timeout: Optional[float] = None) -> Any:
        """Send ``call`` and return its decoded reply; a 401 renews and retries once."""
        path = self._target(call)
        timeout = (timeout or self.timeout) + call.window
        token = self.token
        reply = await self._raw(call.method, path, token, call.payload, timeout)
        if self._retries(reply):
            await self.renew(token)
            reply = await self._raw(call.method, path, self.token, call.payload, timeout)
        return self._value(call, path, reply)

    async def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result, awaiting each of its calls in turn."""
        try:
            call = next(flow)
            while True:
                call = flow.send(await self.call(call))
        except StopIteration as done:
            result: T = done.value
            return result

    async def _raw(
        self, method: str, path: str, token: Optional[str], payload: Any, timeout: Optional[float]
    ) -> Response:
        try:
            reply = await self.http.request(
                method,
                self.host + path,
                headers=self._headers(token),
                json=payload,
                timeout=timeout or self.timeout,
            )
        except TransportError as exc:
            raise self._transport_error(method, path, exc) from exc
        log.debug("%s %s -> %d", method, path, reply.status)
        return reply


class _BorrowedSession(AsyncSession):
    """An async session that speaks with a sync :class:`~.session.Session`'s token."""

    def __init__(self, owner: Session, ca_file: Optional[str], verify: bool) -> None:
        super().__init__(
            owner.host, owner.credentials, timeout=owner.timeout, ca_file=ca_file, verify=verify
        )
        self._owner = owner

    @property
    def auth(self) -> dict[str, Any]:
        return self._owner.auth

    def _secrets(self) -> tuple[str, ...]:
        return self._owner._secrets()

    async def renew(self, stale: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._owner.renew, stale)


class RequestLoop:
    """The sync runtime's ``request()`` POSTs, on one event-loop thread per instance.

    The server holds a broadcast POST open for the whole response window, also after an
    early answer; here the requester cancels it instead (the async transport aborts it), so
    no thread stays blocked until the window closes, and :meth:`close` ends everything.
    """

    def __init__(self, owner: Session, ca_file: Optional[str], verify: bool) -> None:
        self._session = _BorrowedSession(owner, ca_file, verify)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ferrolink-exp-requests", daemon=True
        )
        self._thread.start()

    def post(self, call: Call) -> concurrent.futures.Future[Any]:
        """Send ``call``; the future resolves with its decoded reply, cancelling aborts it."""
        return asyncio.run_coroutine_threadsafe(self._session.call(call), self._loop)

    def close(self) -> None:
        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._session.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


class _BusSession:
    """The event bus's view of an :class:`AsyncSession`. The bus is threads: it gets a sync
    client for its socket, and renews a refused token through the loop."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self._session = session
        self.host = session.host
        self.timeout = session.timeout
        self.http = Client(
            timeout=None,
            connect_timeout=session.timeout,
            read_timeout=None,
            ca_file=settings.ca_file,
            verify=settings.verify,
        )
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    @property
    def token(self) -> str:
        return self._session.token

    def renew(self, stale: str) -> None:
        if self.loop is None:
            raise UnexpectedError("the async EXP runtime is not started", host=self.host)
        try:
            asyncio.run_coroutine_threadsafe(self._session.renew(stale), self.loop).result(
                2 * self.timeout + 1
            )
        except FerrolinkError:
            raise
        except (RuntimeError, concurrent.futures.TimeoutError) as exc:
            raise UnexpectedError(f"token renewal failed: {exc!r}", host=self.host) from None


def _post(loop: asyncio.AbstractEventLoop, deliver: Callable[..., None], *args: Any) -> None:
    """Run ``deliver(*args)`` on ``loop`` from a bus thread (dropped once the loop closed)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(deliver, *args)


class AsyncExp:
    """An asyncio EXP client: ``async with AsyncExp(**options) as sdk`` (or ``await
    sdk.start()`` / ``await sdk.stop()``). Options are those of :func:`ferrolink.exp.start`.

    ``sdk.api`` awaits the sync ``exp.api`` calls; resources it returns have awaitable
    ``asave()``, ``arefresh()``, ``adelete()``, ``aget_location()``... ``sdk.channels`` has
    the fixed channels, ``sdk.get_channel()`` any other.
    """

    def __init__(self, **options: Any) -> None:
        self._settings = settings = Settings.from_options(options)
        self.session = AsyncSession(
            settings.host,
            settings.credentials,
            timeout=settings.timeout,
            ca_file=settings.ca_file,
            verify=settings.verify,
            organization=settings.organization,
        )
        self._bridge = _BusSession(self.session, settings)
        self.bus = EventBus(
            self._bridge,
            websocket=settings.websocket,
            ca_file=settings.ca_file,
            verify=settings.verify,
        )
        self.api = AsyncApi(self)
        self.channels = AsyncChannels(self)
        self.enable_network = settings.enable_network
        self._state = "new"
        self._responders: set[AsyncResponder] = set()

    async def start(self) -> AsyncExp:
        """Log in and connect the event bus (``AuthenticationError`` on bad credentials)."""
        if self._state != "new":
            raise UsageError(f"this AsyncExp is already {self._state}")
        self._state = "started"
        self._bridge.loop = asyncio.get_running_loop()
        try:
            await self.session.login()
            self.session.token_listeners.append(self.bus.reconnect)
            if self.enable_network:
                self.bus.start()
                if not await self._until(
                    lambda: self.bus.is_connected, self._settings.start_timeout
                ):
                    raise NetworkError(
                        f"the EXP event bus at {self.session.host} did not connect within "
                        f"{self._settings.start_timeout:g} s"
                    )
            await self.channels._resolve()
        except BaseException:
            await self._shutdown()  # a failed start leaves nothing running
            raise
        return self

    async def _shutdown(self) -> None:
        self._state = "stopped"
        await asyncio.get_running_loop().run_in_executor(None, self.bus.stop)
        self._bridge.http.close()
        await self.session.close()

    async def stop(self) -> None:
        """End the event bus, the refresh task and every responder. Idempotent."""
        if self._state == "stopped":
            return
        for responder in list(self._responders):
            await responder.cancel()
        await self._shutdown()

    async def __aenter__(self) -> AsyncExp:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def _check(self) -> None:
        if self._state != "started":
            raise UsageError(
                "this AsyncExp is stopped" if self._state == "stopped" else "await start() first"
            )

    async def _until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait (without blocking the loop) until ``condition()`` holds, at most ``timeout`` s."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def hook() -> None:
            _post(loop, changed.set)

        self.bus.on_change(hook)
        try:
            deadline = loop.time() + timeout
            while not condition():
                remaining = deadline - loop.time()
                if remaining <= 0 or self._state == "stopped":
                    return False
                changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
            return True
        finally:
            self.bus.remove_on_change(hook)

    def on(self, name: str, callback: Callable[..., Any]) -> None:
        """Call ``callback`` on its own thread at each ``'online'``/``'offline'`` transition."""
        try:
            self.bus.on(name, callback)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    @property
    def is_connected(self) -> bool:
        return self.bus.is_connected

    def get_auth(self) -> dict[str, Any]:
        """The current login reply (token, expiration, identity, restrictedToken...)."""
        return dict(self.session.auth)

    async def _rest(
        self, method: str, path: str, payload: Any, params: Optional[dict[str, Any]], timeout: float
    ) -> Any:
        self._check()
        return await self.session.request(
            method, path, params=params, payload=payload, timeout=timeout
        )

    async def get(
        self, path: str, params: Optional[dict[str, Any]] = None, timeout: float = 10
    ) -> Any:
        return await self._rest("GET", path, None, params, timeout)

    async def post(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        return await self._rest("POST", path, payload, params, timeout)

    async def patch(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        return await self._rest("PATCH", path, payload, params, timeout)

    async def put(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        return await self._rest("PUT", path, payload, params, timeout)

    async def delete(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        return await self._rest("DELETE", path, payload, params, timeout)

    def get_channel(
        self, name: Union[str, Resource, Zone], system: bool = False, consumer: bool = False
    ) -> AsyncChannel:
        """Channel ``name`` (or a resource's own channel); flags are keywords."""
        self._check()
        if isinstance(name, (Resource, Zone)):
            name = name.channel_name
        return AsyncChannel(self, name, system=system, consumer=consumer)

    async def _run(self, flow: Flow[T]) -> T:
        self._check()
        return await self.session.run(flow)

    async def get_current_device(self) -> Optional[Device]:
        return await self._run(current_device(self))

    async def get_current_experience(self) -> Optional[Experience]:
        return await self._run(current_link(self, Device._experience, None))

    async def get_current_location(self) -> Optional[Location]:
        return await self._run(current_link(self, Device._location, None))

    async def get_current_zones(self) -> list[Zone]:
        return await self._run(current_link(self, Device._zones, []))

    def __repr__(self) -> str:
        session = self.session
        return f"<ferrolink.exp.AsyncExp {session.host} {session.credentials!r} {self._state}>"


class AsyncApi:
    """``sdk.api`` of an :class:`AsyncExp`: the names of ``exp.api``, awaited."""

    def __init__(self, sdk: AsyncExp) -> None:
        self._sdk = sdk

    async def _run(self, make: Callable[[AsyncExp], Flow[T]]) -> T:
        return await self._sdk._run(make(self._sdk))

    async def find_devices(self, **params: Any) -> Collection[Device]:
        return await self._run(lambda sdk: find(sdk, Device, params))

    get_devices = find_devices

    async def get_device(self, uuid: Any) -> Optional[Device]:
        return await self._run(lambda sdk: get(sdk, Device, uuid))

    async def create_device(self, document: Optional[dict[str, Any]] = None) -> Device:
        return await self._run(lambda sdk: create(sdk, Device, document))

    async def delete_device(self, uuid: str) -> None:
        await self._run(lambda sdk: remove(Device, uuid))

    async def find_things(self, **params: Any) -> Collection[Thing]:
        return await self._run(lambda sdk: find(sdk, Thing, params))

    async def get_thing(self, uuid: Any) -> Optional[Thing]:
        return await self._run(lambda sdk: get(sdk, Thing, uuid))

    async def create_thing(self, document: Optional[dict[str, Any]] = None) -> Thing:
        return await self._run(lambda sdk: create(sdk, Thing, document))

    async def delete_thing(self, uuid: str) -> None:
        await self._run(lambda sdk: remove(Thing, uuid))

    async def find_experiences(self, **params: Any) -> Collection[Experience]:
        return await self._run(lambda sdk: find(sdk, Experience, params))

    async def get_experience(self, uuid: Any) -> Optional[Experience]:
        return await self._run(lambda sdk: get(sdk, Experience, uuid))

    async def create_experience(self, document: Optional[dict[str, Any]] = None) -> Experience:
        return await self._run(lambda sdk: create(sdk, Experience, document))

    async def delete_experience(self, uuid: str) -> None:
        await self._run(lambda sdk: remove(Experience, uuid))

    async def find_locations(self, **params: Any) -> Collection[Location]:
        return await self._run(lambda sdk: find(sdk, Location, params))

    async def get_location(self, uuid: Any) -> Optional[Location]:
        return await self._run(lambda sdk: get(sdk, Location, uuid))

    async def create_location(self, document: Optional[dict[str, Any]] = None) -> Location:
        return await self._run(lambda sdk: create(sdk, Location, document))

    async def delete_location(self, uuid: str) -> None:
        await self._run(lambda sdk: remove(Location, uuid))

    async def find_feeds(self, **params: Any) -> Collection[Feed]:
        return await self._run(lambda sdk: find(sdk, Feed, params))

    async def get_feed(self, uuid: Any) -> Optional[Feed]:
        return await self._run(lambda sdk: get(sdk, Feed, uuid))

    async def create_feed(self, document: Optional[dict[str, Any]] = None) -> Feed:
        return await self._run(lambda sdk: create(sdk, Feed, document))

    async def delete_feed(self, uuid: str) -> None:
        await self._run(lambda sdk: remove(Feed, uuid))

    async def find_content(self, **params: Any) -> Collection[Content]:
        return await self._run(lambda sdk: find(sdk, Content, params))

    async def get_content(self, uuid: Any) -> Optional[Content]:
        return await self._run(lambda sdk: get(sdk, Content, uuid))

    async def get_data(self, key: Any, group: Any = "default") -> Optional[Data]:
        return await self._run(lambda sdk: get_data(sdk, key, group))

    async def find_data(self, **params: Any) -> Collection[Data]:
        return await self._run(lambda sdk: find(sdk, Data, params))

    async def create_data(self, key: Any = None, group: Any = "default", value: Any = None) -> Data:
        return await self._run(lambda sdk: create_data(sdk, key, group, value))

    async def delete_data(self, key: Any, group: Any = "default") -> None:
        await self._run(lambda sdk: remove_data(key, group))


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
        self._queue: asyncio.Queue[Optional[AsyncBroadcast]] = asyncio.Queue()
        self._subscribed = False
        self.cancelled = False
        sdk.bus.add_listener(self)

    # -- the bus side (any thread) ---------------------------------------------------------

    def deliver(self, message: dict[str, Any]) -> None:
        if not self.cancelled:
            _post(self._loop, self._queue.put_nowait, AsyncBroadcast(self._sdk, message))

    def close(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            _post(self._loop, self._queue.put_nowait, None)

    # -- the loop side ---------------------------------------------------------------------

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
            item = await self._queue.get()
            if item is None:
                self._queue.put_nowait(None)  # later calls end too
                raise StopAsyncIteration
            if item.received >= time.monotonic() - self.max_age:
                return item

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
                lambda response: _post(loop, _settle, answer, answer_of, response),
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
