"""The asyncio EXP runtime (:class:`AsyncExp`): the sync API's names, awaited.

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
from typing import Any, Callable, Optional, TypeVar, Union

from ..errors import FerrolinkError
from ..http import Client
from .async_channels import AsyncChannel, AsyncChannels, AsyncResponder, call_in_loop
from .async_session import AsyncSession
from .errors import NetworkError, UnexpectedError, UsageError
from .network import EventBus
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
from .sdk import Settings, current_device, current_link
from .session import Flow

__all__ = ["AsyncApi", "AsyncExp"]

T = TypeVar("T")


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
            call_in_loop(loop, changed.set)

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
