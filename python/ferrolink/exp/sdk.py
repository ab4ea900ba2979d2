"""One EXP client instance: a session, an event bus, the ``api`` and the fixed channels.

``ferrolink.exp.start(**options)`` returns one; the module-level ``exp.runtime`` owns one
more. Instances are independent: several identities can run in one process.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union

from .auth import Credentials
from .channels import Broadcast, Channel, Listener
from .errors import NetworkError, RequestTimeout, ResponderError, UsageError
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
from .session import Call, Flow, Session

if TYPE_CHECKING:
    from .async_sdk import AsyncExp
    from .async_session import RequestLoop

    Runtime = Union["Exp", AsyncExp]

__all__ = ["DEFAULT_HOST", "Api", "Exp", "FixedChannel", "stop_all"]

DEFAULT_HOST = "https://api.goexp.io"
# How long start() waits for the first event-bus connection (the original: about 5 s).
START_TIMEOUT = 10.0

T = TypeVar("T")

_instances: weakref.WeakSet[Exp] = weakref.WeakSet()
_instances_lock = threading.Lock()


def _base_url(host: Any, port: Any) -> str:
    if not isinstance(host, str) or not host:
        raise UsageError(f"host must be a URL string, got {host!r}")
    if "://" not in host:
        host = "https://" + host
    host = host.rstrip("/")
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, (int, str)) or not str(port).isdigit():
            raise UsageError(f"port must be a number, got {port!r}")
        host = f"{host}:{port}"
    return str(host)


@dataclass(frozen=True)
class Settings:
    """The ``start()`` options both runtimes understand, checked."""

    credentials: Credentials
    host: str
    timeout: float
    ca_file: Optional[str]
    verify: bool
    organization: Optional[str]
    websocket: bool
    enable_network: bool
    start_timeout: float
    bound: dict[str, str]

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Settings:
        credentials = Credentials.from_options(options)
        timeout = options.get("timeout") or 10.0
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise UsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return cls(
            credentials=credentials,
            host=_base_url(options.get("host") or DEFAULT_HOST, options.get("port")),
            timeout=float(timeout),
            ca_file=options.get("ca_file"),
            verify=bool(options.get("verify", True)),
            organization=options.get("organization"),
            websocket=bool(options.get("websocket", True)),
            enable_network=bool(options.get("enable_network", options.get("enableEvents", True))),
            start_timeout=float(options.get("start_timeout", START_TIMEOUT)),
            bound={kind: uuid_of(options[kind]) for kind in _LINKED if options.get(kind)},
        )


class Exp:
    """A started EXP client. Use :func:`ferrolink.exp.start` to make one.

    Options: credentials (see :class:`~ferrolink.exp.auth.Credentials`), ``host``, ``port``,
    ``timeout`` (REST seconds, default 10), ``enable_network``/``enableEvents`` (default
    True), ``websocket`` (default True; False keeps to long-polling), ``ca_file``,
    ``verify``, ``organization`` (for a ready ``token``), ``start_timeout``,
    ``experience`` / ``location`` (a uuid or resource: binds the fixed channel of that name,
    so a user can reach the devices of an experience or location).
    Unknown options are ignored, as in the original.
    """

    def __init__(self, **options: Any) -> None:
        self.log = logging.getLogger("ferrolink.exp")
        settings = Settings.from_options(options)
        self._bound = settings.bound
        self.session = Session(
            settings.host,
            settings.credentials,
            timeout=settings.timeout,
            ca_file=settings.ca_file,
            verify=settings.verify,
            organization=settings.organization,
        )
        self.bus = EventBus(
            self.session,
            websocket=settings.websocket,
            ca_file=settings.ca_file,
            verify=settings.verify,
        )
        self.api = Api(lambda: self)
        self.channels = Channels(lambda: self)
        self.enable_network = settings.enable_network
        self._stopped = False
        self._fixed: dict[str, Channel] = {}
        # The responder per (channel id, name) of the fixed channels; a new one replaces it.
        self._responders: dict[tuple[str, str], Listener] = {}
        self._settings = settings
        self._requests: Optional[RequestLoop] = None
        self._requests_lock = threading.Lock()
        for name, callback in options.get("callbacks") or ():
            self.on(name, callback)  # registered before connecting, so the first online fires
        self._start(settings.start_timeout)
        with _instances_lock:
            _instances.add(self)

    def _start(self, start_timeout: float) -> None:
        try:
            self.session.login()
            self.session.token_listeners.append(self.bus.reconnect)
            if self.enable_network:
                self.bus.start()
                if not self.bus.wait_connected(start_timeout):
                    raise NetworkError(
                        f"the EXP event bus at {self.session.host} did not connect within "
                        f"{start_timeout:g} s"
                    )
        except BaseException:
            # A failed start leaves nothing running (the original kept retrying forever).
            self._shutdown()
            raise

    # -- lifecycle -----------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._stopped = True
        self.bus.stop()
        with self._requests_lock:
            requests, self._requests = self._requests, None
        if requests is not None:
            requests.close()
        self.session.close()

    def stop(self) -> None:
        """End the event bus and every thread of this instance. Idempotent."""
        if self._stopped:
            return
        self._shutdown()
        with _instances_lock:
            _instances.discard(self)

    def __enter__(self) -> Exp:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _check(self) -> None:
        if self._stopped:
            raise UsageError("this EXP instance is stopped")

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

    # -- raw REST (5.0: one signature, keywords accepted) ----------------------------------

    def get(self, path: str, params: Optional[dict[str, Any]] = None, timeout: float = 10) -> Any:
        self._check()
        return self.session.request("GET", path, params=params, timeout=timeout)

    def post(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        self._check()
        return self.session.request("POST", path, params=params, payload=payload, timeout=timeout)

    def patch(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        self._check()
        return self.session.request("PATCH", path, params=params, payload=payload, timeout=timeout)

    def put(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        self._check()
        return self.session.request("PUT", path, params=params, payload=payload, timeout=timeout)

    def delete(
        self,
        path: str,
        payload: Any = None,
        params: Optional[dict[str, Any]] = None,
        timeout: float = 10,
    ) -> Any:
        self._check()
        return self.session.request("DELETE", path, params=params, payload=payload, timeout=timeout)

    # -- channels and the current device ---------------------------------------------------

    def get_channel(self, name: str, system: bool = False, consumer: bool = False) -> Channel:
        """Channel ``name``; ``system`` and ``consumer`` are keyword flags."""
        self._check()
        return Channel(self, name, system=system, consumer=consumer)

    def get_current_device(self) -> Optional[Device]:
        return self.session.run(current_device(self))

    def get_current_experience(self) -> Optional[Experience]:
        return self.session.run(current_link(self, Device._experience, None))

    def get_current_location(self) -> Optional[Location]:
        return self.session.run(current_link(self, Device._location, None))

    def get_current_zones(self) -> list[Zone]:
        return self.session.run(current_link(self, Device._zones, []))

    def post_request(self, call: Call) -> concurrent.futures.Future[Any]:
        """Send a request's broadcast POST without blocking; cancel the future to abort it
        (see :class:`~.async_session.RequestLoop`, started on the first request)."""
        self._check()
        with self._requests_lock:
            if self._requests is None:
                from .async_session import RequestLoop

                settings = self._settings
                self._requests = RequestLoop(self.session, settings.ca_file, settings.verify)
            return self._requests.post(call)

    def fixed_channel(self, kind: str, uuid: Optional[str] = None) -> Channel:
        """The module-level channel ``kind`` on the 5.0 wire (documented choice):
        ``system`` is the system channel ``system``; ``organization`` the channel
        ``organization``; ``experience``/``location`` the channel named ``uuid`` when given,
        else the one bound by ``start(experience=..., location=...)``, else the channel
        named after the current device's experience/location uuid, else a channel literally
        named so."""
        self._check()
        if uuid is not None:
            return Channel(self, uuid)
        channel = self._fixed.get(kind)
        if channel is None:
            name = self.session.run(fixed_channel_name(self, kind, self._bound))
            channel = self._fixed[kind] = Channel(self, name, system=kind == "system")
        return channel

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<ferrolink.exp.Exp {self.session.host} {self.session.credentials!r} {state}>"


class Api:
    """``exp.api``: find/get/create per resource type (module-level names, key-first data)."""

    def __init__(self, resolve: Callable[[], Exp]) -> None:
        self._resolve = resolve

    def _sdk(self) -> Exp:
        sdk = self._resolve()
        sdk._check()
        return sdk

    def _run(self, make: Callable[[Exp], Flow[T]]) -> T:
        sdk = self._sdk()
        return sdk.session.run(make(sdk))

    # devices
    def find_devices(self, **params: Any) -> Collection[Device]:
        return self._run(lambda sdk: find(sdk, Device, params))

    get_devices = find_devices  # the original SDK's README example calls get_devices()

    def get_device(self, uuid: Any) -> Optional[Device]:
        return self._run(lambda sdk: get(sdk, Device, uuid))

    def create_device(self, document: Optional[dict[str, Any]] = None) -> Device:
        return self._run(lambda sdk: create(sdk, Device, document))

    def delete_device(self, uuid: str) -> None:
        self._run(lambda sdk: remove(Device, uuid))

    # things
    def find_things(self, **params: Any) -> Collection[Thing]:
        return self._run(lambda sdk: find(sdk, Thing, params))

    def get_thing(self, uuid: Any) -> Optional[Thing]:
        return self._run(lambda sdk: get(sdk, Thing, uuid))

    def create_thing(self, document: Optional[dict[str, Any]] = None) -> Thing:
        return self._run(lambda sdk: create(sdk, Thing, document))

    def delete_thing(self, uuid: str) -> None:
        self._run(lambda sdk: remove(Thing, uuid))

    # experiences
    def find_experiences(self, **params: Any) -> Collection[Experience]:
        return self._run(lambda sdk: find(sdk, Experience, params))

    def get_experience(self, uuid: Any) -> Optional[Experience]:
        return self._run(lambda sdk: get(sdk, Experience, uuid))

    def create_experience(self, document: Optional[dict[str, Any]] = None) -> Experience:
        return self._run(lambda sdk: create(sdk, Experience, document))

    def delete_experience(self, uuid: str) -> None:
        self._run(lambda sdk: remove(Experience, uuid))

    # locations
    def find_locations(self, **params: Any) -> Collection[Location]:
        return self._run(lambda sdk: find(sdk, Location, params))

    def get_location(self, uuid: Any) -> Optional[Location]:
        return self._run(lambda sdk: get(sdk, Location, uuid))

    def create_location(self, document: Optional[dict[str, Any]] = None) -> Location:
        return self._run(lambda sdk: create(sdk, Location, document))

    def delete_location(self, uuid: str) -> None:
        self._run(lambda sdk: remove(Location, uuid))

    # feeds
    def find_feeds(self, **params: Any) -> Collection[Feed]:
        return self._run(lambda sdk: find(sdk, Feed, params))

    def get_feed(self, uuid: Any) -> Optional[Feed]:
        return self._run(lambda sdk: get(sdk, Feed, uuid))

    def create_feed(self, document: Optional[dict[str, Any]] = None) -> Feed:
        return self._run(lambda sdk: create(sdk, Feed, document))

    def delete_feed(self, uuid: str) -> None:
        self._run(lambda sdk: remove(Feed, uuid))

    # content (read-only)
    def find_content(self, **params: Any) -> Collection[Content]:
        return self._run(lambda sdk: find(sdk, Content, params))

    def get_content(self, uuid: Any) -> Optional[Content]:
        return self._run(lambda sdk: get(sdk, Content, uuid))

    # data: key first, as in the module-level SDK
    def get_data(self, key: Any, group: Any = "default") -> Optional[Data]:
        return self._run(lambda sdk: get_data(sdk, key, group))

    def find_data(self, **params: Any) -> Collection[Data]:
        return self._run(lambda sdk: find(sdk, Data, params))

    def create_data(self, key: Any = None, group: Any = "default", value: Any = None) -> Data:
        return self._run(lambda sdk: create_data(sdk, key, group, value))

    def delete_data(self, key: Any, group: Any = "default") -> None:
        self._run(lambda sdk: remove_data(key, group))


class FixedChannel:
    """``exp.channels.<name>``: the module-level channel API; ``uuid`` binds an
    experience or location channel to that experience or location."""

    Timeout = RequestTimeout
    Error = ResponderError

    def __init__(self, resolve: Callable[[], Exp], kind: str, uuid: Optional[str] = None) -> None:
        self._resolve = resolve
        self.kind = kind
        self.uuid = uuid

    def _channel(self) -> Channel:
        return self._resolve().fixed_channel(self.kind, self.uuid)

    def broadcast(self, name: str, payload: Any = None) -> None:
        """Fire and forget (no response window)."""
        self._channel().broadcast(name, payload, timeout=0)

    def listen(self, name: str, callback: Callable[..., Any]) -> Listener:
        """Call ``callback(payload)`` on a worker thread for each broadcast ``name``.

        Returns once the subscription is confirmed (or at once while offline: it is made
        on connect). ``listener.cancel()`` stops it.
        """
        sdk = self._resolve()
        channel = self._channel()
        return channel.listen(
            name,
            callback=lambda broadcast: callback(broadcast.payload),
            wait=sdk.bus.is_connected,
            timeout=sdk.session.timeout,
        )

    def request(
        self, name: str, target: Any = None, payload: Any = None, timeout: float = 10.0
    ) -> Any:
        """The first response to ``name`` within ``timeout`` s (``Timeout`` / ``Error``).

        ``target`` is accepted for compatibility and not used: the 5.0 wire has no
        addressing, so any responder on the channel may answer (documented choice).
        """
        return self._channel().request(name, payload, timeout)

    def respond(self, name: str, callback: Callable[..., Any]) -> Listener:
        """Answer requests ``name`` with ``callback(payload)``; replaces an earlier responder."""
        sdk = self._resolve()
        channel = self._channel()
        key = (channel.id, name)
        with _responders_lock:
            previous = sdk._responders.pop(key, None)
        if previous is not None:
            previous.cancel()
        listener = channel.respond(name, callback, timeout=sdk.session.timeout)
        with _responders_lock:
            sdk._responders[key] = listener
        return listener

    def fling(self, uuid: Any) -> None:
        """Broadcast ``fling`` for content ``uuid`` (see :meth:`Channel.fling`)."""
        self._channel().fling(uuid)

    def identify(self) -> None:
        self._channel().identify()

    def __repr__(self) -> str:
        bound = f" {self.uuid}" if self.uuid else ""
        return f"<exp.channels.{self.kind}{bound}>"


_responders_lock = threading.Lock()


class Channels:
    """``exp.channels``: the four fixed channels plus :meth:`get_channel`."""

    def __init__(self, resolve: Callable[[], Exp]) -> None:
        self._resolve = resolve
        self.system = FixedChannel(resolve, "system")
        self.organization = FixedChannel(resolve, "organization")
        self.experience = FixedChannel(resolve, "experience")
        self.location = FixedChannel(resolve, "location")

    def get_channel(self, name: str, system: bool = False, consumer: bool = False) -> Channel:
        return self._resolve().get_channel(name, system=system, consumer=consumer)

    def experience_of(self, experience: Any) -> FixedChannel:
        """The experience channel of ``experience`` (a uuid or an :class:`Experience`): where
        the devices of that experience listen and respond."""
        return FixedChannel(self._resolve, "experience", uuid_of(experience))

    def location_of(self, location: Any) -> FixedChannel:
        """The location channel of ``location`` (a uuid or a :class:`Location`)."""
        return FixedChannel(self._resolve, "location", uuid_of(location))


_LINKED = ("experience", "location")


def current_device(sdk: Runtime) -> Flow[Optional[Device]]:
    """The device the runtime is logged in as, if it is a (paired) device."""
    identity = sdk.session.auth.get("identity") or {}
    if identity.get("type") != "device" or identity.get("isPairing"):
        return None
    return (yield from get(sdk, Device, identity.get("uuid")))


def current_link(sdk: Runtime, link: Callable[[Device], Flow[T]], default: T) -> Flow[T]:
    """What ``link`` (e.g. ``Device._location``) gives for the current device."""
    device = yield from current_device(sdk)
    return default if device is None else (yield from link(device))


def fixed_channel_name(sdk: Runtime, kind: str, bound: dict[str, str]) -> Flow[str]:
    """The channel name behind module-level channel ``kind`` (see :meth:`Exp.fixed_channel`)."""
    if kind not in _LINKED:
        return kind
    name = bound.get(kind)
    if name is None:
        device = yield from current_device(sdk)
        linked = device.document.get(kind) if device else None
        name = linked.get("uuid") if isinstance(linked, dict) else None
    return name if isinstance(name, str) else kind


def uuid_of(resource: Any) -> str:
    """The uuid of a resource, or the uuid string itself."""
    uuid = resource.uuid if isinstance(resource, Resource) else resource
    if not isinstance(uuid, str) or not uuid:
        raise UsageError(f"expected a uuid or a saved resource, got {resource!r}")
    return uuid


def stop_all() -> None:
    """Stop every running instance (the 5.0 module-level ``stop()``)."""
    with _instances_lock:
        running = list(_instances)
    for instance in running:
        instance.stop()


__all__ += ["Broadcast", "Channels"]
