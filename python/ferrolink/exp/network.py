"""The EXP event bus: Socket.IO 1.x over Engine.IO v3, WebSocket first, polling fallback.

One supervisor thread per instance connects (polling handshake, then the WebSocket upgrade
when the server offers it and ``websocket`` is enabled), reads packets, and reconnects with
backoff (1 s doubling to 20 s) when the connection ends. After **every** ``40`` it
resubscribes every channel that has listeners, then fires ``online``; a lost connection
fires ``offline``. A token change (refresh or re-login) rebuilds the socket at once with the
new token. A ping thread per connection sends ``2`` every ``pingInterval`` and drops the
connection when no ``3`` came back within ``pingTimeout``. Every broadcast first goes to the
pending requests (:class:`~.replies.Replies`), then to the listeners of its channel and name;
callback listeners run on their own worker threads (see :class:`~.channels.Listener`), never
under a lock of this module.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import ssl
import threading
import time
from typing import Any, Callable, Optional, Protocol
from urllib.parse import urlencode

import websocket

from ..errors import FerrolinkError, ProtocolError
from ..http import Client
from . import eio
from .replies import Replies

__all__ = ["EventBus"]

log = logging.getLogger("ferrolink.exp")

# How long stop() waits for listener callbacks that are still running.
WORKER_GRACE = 2.0


class BusSession(Protocol):
    """What the bus needs of a session (the sync one, or the async runtime's bridge)."""

    host: str
    timeout: float
    http: Client  # the bus is threads: its handshake and polls go through a sync client

    @property
    def token(self) -> str: ...

    def renew(self, stale: str) -> None:
        """Renew ``stale`` (blocking) unless it was renewed already."""


class Subscriber(Protocol):
    """A listener as the bus sees it (sync :class:`~.channels.Listener` or its async twin)."""

    channel: str
    name: str

    def deliver(self, message: dict[str, Any]) -> None:
        """Take one broadcast; called on the bus thread, so it must not block."""

    def close(self) -> None: ...


class _Lost(Exception):
    """The connection ended; the message says why."""


class _Unauthorized(_Lost):
    """The server refused the token on a transport request."""


class _Connection:
    """One Engine.IO session over polling or (after the upgrade) a WebSocket."""

    def __init__(self, bus: EventBus, token: str) -> None:
        self.bus = bus
        self.token = token
        self.sid = ""
        self.ws: Optional[websocket.WebSocket] = None
        self.ping_interval = 25.0
        self.ping_timeout = 60.0
        self.last_pong = time.monotonic()
        self.closed = threading.Event()
        self.was_connected = False  # a Socket.IO connect arrived: the backoff starts over
        self._send_lock = threading.Lock()

    def _url(self, transport: str, **extra: str) -> str:
        query = {"EIO": "3", "transport": transport, "token": self.token, **extra}
        if self.sid:
            query["sid"] = self.sid
        base = self.bus.host + "/socket.io/?" + urlencode(query)
        if transport == "websocket":
            base = "ws" + base[4:] if base.startswith("http") else base
        return base

    def open(self) -> list[str]:
        """Handshake; returns the packets that came after the open packet."""
        reply = self.bus.http.get(
            self._url("polling", t=f"{time.time():.6f}"), timeout=self.bus.timeout
        )
        if reply.status == 401:
            raise _Unauthorized("the server refused the token for the socket handshake")
        if reply.status != 200:
            raise _Lost(f"socket handshake answered HTTP {reply.status} {reply.reason}")
        packets = eio.decode_payload(reply.body)
        if not packets:
            raise ProtocolError("Engine.IO handshake reply is empty")
        handshake = eio.decode_open(packets[0])
        self.sid = handshake["sid"]
        self.ping_interval = _ms(handshake.get("pingInterval"), 25000) / 1000
        self.ping_timeout = _ms(handshake.get("pingTimeout"), 60000) / 1000
        upgrades = handshake.get("upgrades") or []
        if self.bus.use_websocket and "websocket" in upgrades:
            self._upgrade()
        return packets[1:]

    def _upgrade(self) -> None:
        sslopt: dict[str, Any] = {}
        if not self.bus.verify:
            sslopt = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
        elif self.bus.ca_file:
            sslopt = {"ca_certs": self.bus.ca_file}
        try:
            ws = websocket.create_connection(
                self._url("websocket"),
                timeout=self.bus.timeout,
                sslopt=sslopt,
                enable_multithread=True,
            )
        except (OSError, websocket.WebSocketException) as exc:
            log.info("WebSocket upgrade failed (%s); staying on polling", exc)
            return
        try:
            ws.send(eio.PING + "probe")
            answer = ws.recv()
            if answer != eio.PONG + "probe":
                raise ProtocolError(f"unexpected probe answer {answer!r}")
            ws.send(eio.UPGRADE)
        except (OSError, websocket.WebSocketException, FerrolinkError) as exc:
            log.info("WebSocket probe failed (%s); staying on polling", exc)
            ws.close()
            return
        ws.settimeout(None)
        self.ws = ws
        log.debug("socket upgraded to WebSocket")

    @property
    def transport(self) -> str:
        return "websocket" if self.ws is not None else "polling"

    def send(self, packets: list[str]) -> None:
        if self.closed.is_set():
            raise _Lost("connection closed")
        with self._send_lock:
            if self.ws is not None:
                try:
                    for packet in packets:
                        self.ws.send(packet)
                except (OSError, websocket.WebSocketException) as exc:
                    raise _Lost(f"WebSocket send failed: {exc}") from None
                return
            reply = self.bus.http.post(
                self._url("polling"),
                body=eio.encode_payload(packets),
                headers={"Content-Type": "application/octet-stream"},
                timeout=self.bus.timeout,
            )
        if reply.status == 401:
            raise _Unauthorized("the server refused the token for a socket send")
        if reply.status != 200:
            raise _Lost(f"socket send answered HTTP {reply.status} {reply.reason}")

    def receive(self) -> list[str]:
        if self.ws is not None:
            try:
                data = self.ws.recv()
            except (OSError, websocket.WebSocketException) as exc:
                raise _Lost(f"WebSocket closed: {exc}") from None
            if isinstance(data, bytes):
                data = data.decode("utf-8", errors="replace")
            if not data:
                raise _Lost("WebSocket closed by the server")
            return [data]
        reply = self.bus.http.get(
            self._url("polling", t=f"{time.time():.6f}"),
            timeout=self.ping_interval + self.ping_timeout + self.bus.timeout,
        )
        if reply.status == 401:
            raise _Unauthorized("the server refused the token for a poll")
        if reply.status != 200:
            raise _Lost(f"poll answered HTTP {reply.status} {reply.reason}")
        return eio.decode_payload(reply.body)

    def close(self) -> None:
        if self.closed.is_set():
            return
        with contextlib.suppress(Exception):
            self.send([eio.CLOSE])  # ends the server's session and any pending long poll
        self.closed.set()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.ws.shutdown()  # type: ignore[no-untyped-call]


def _ms(value: Any, default: int) -> int:
    return int(value) if isinstance(value, (int, float)) and value > 0 else default


class EventBus:
    """Connection, subscriptions and dispatch for one runtime."""

    def __init__(
        self,
        session: BusSession,
        *,
        websocket: bool = True,
        ca_file: Optional[str] = None,
        verify: bool = True,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 20.0,
    ) -> None:
        self.session = session
        self.host = session.host
        self.timeout = session.timeout
        self.use_websocket = websocket
        self.ca_file = ca_file
        self.verify = verify
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.http = session.http  # one pool and TLS set-up per instance; the session owns it
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._listeners: dict[str, list[Subscriber]] = {}
        self._subscribed: set[str] = set()
        self._watched: set[str] = set()  # channels request() listens on for early answers
        self._hooks: list[Callable[[], None]] = []
        self.replies = Replies()
        self._conn: Optional[_Connection] = None
        self._connected = False
        self._stopped = threading.Event()
        self._wake = threading.Event()  # cut the reconnect wait short (new token)
        self._callbacks: dict[str, list[Callable[..., Any]]] = {"online": [], "offline": []}
        self._threads: list[threading.Thread] = []
        self._workers: set[threading.Thread] = set()
        self.protocol_errors: list[str] = []
        self.connects = 0

    # -- public --------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def transport(self) -> Optional[str]:
        conn = self._conn
        return conn.transport if conn is not None else None

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="ferrolink-exp-socket", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._connected and not self._stopped.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._connected

    def on(self, name: str, callback: Callable[..., Any]) -> None:
        if name not in self._callbacks:
            raise ValueError(f"unknown event {name!r} (use 'online' or 'offline')")
        if not callable(callback):
            raise ValueError("callback must be callable")
        self._callbacks[name].append(callback)

    def add_listener(self, listener: Subscriber) -> None:
        with self._cond:
            first = self._is_new(listener.channel)
            self._listeners.setdefault(listener.channel, []).append(listener)
            conn = self._conn if self._connected else None
        if first and conn is not None:
            self._send_quietly(conn, [eio.encode_event("subscribe", [listener.channel])])

    def _is_new(self, channel: str) -> bool:
        return channel not in self._listeners and channel not in self._watched

    def watch(self, channel: str) -> bool:
        """Keep ``channel`` subscribed for request() answers from now on, listeners or not.

        Returns False while offline (then only the held-open POST can answer).
        """
        with self._cond:
            if not self._connected:
                return False
            first = self._is_new(channel)
            self._watched.add(channel)
            conn = self._conn
        if first and conn is not None:
            self._send_quietly(conn, [eio.encode_event("subscribe", [channel])])
        return True

    def is_subscribed(self, channel: str) -> bool:
        return channel in self._subscribed

    def on_change(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` (on the bus thread; it must not block) after every change of the
        connection or of the subscriptions, until :meth:`remove_on_change`."""
        with self._lock:
            self._hooks.append(hook)

    def remove_on_change(self, hook: Callable[[], None]) -> None:
        with self._lock:
            if hook in self._hooks:
                self._hooks.remove(hook)

    def _changed(self) -> None:
        """Wake the threads and async waiters that wait for a state change (lock held)."""
        self._cond.notify_all()
        for hook in list(self._hooks):
            hook()

    def remove_listener(self, listener: Subscriber) -> None:
        with self._cond:
            group = self._listeners.get(listener.channel, [])
            if listener in group:
                group.remove(listener)
            if not group:
                self._listeners.pop(listener.channel, None)

    def wait_subscribed(self, channel: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while channel not in self._subscribed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopped.is_set():
                    return False
                self._cond.wait(remaining)
            return True

    def spawn(self, target: Callable[[], None], kind: str) -> None:
        """Run ``target`` on a new daemon thread that :meth:`stop` waits for (briefly)."""

        def run() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._workers.discard(thread)

        thread = threading.Thread(target=run, name=f"ferrolink-exp-{kind}", daemon=True)
        with self._lock:
            if self._stopped.is_set():
                return
            self._workers.add(thread)
        thread.start()

    def reconnect(self) -> None:
        """Drop the current connection and connect again at once (used on a new token)."""
        self._wake.set()
        conn = self._conn
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        conn = self._conn
        if conn is not None:
            conn.close()
        with self._cond:
            listeners = [item for group in self._listeners.values() for item in group]
            self._changed()
        for listener in listeners:
            listener.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(self.timeout + 2)
        self._threads.clear()
        # Workers end after the callback they are running; one still blocked in user code
        # after this grace period is left to finish on its own (it is a daemon).
        deadline = time.monotonic() + WORKER_GRACE
        with self._lock:
            workers = list(self._workers)
        for thread in workers:
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0))

    # -- supervisor ----------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.reconnect_delay
        while not self._stopped.is_set():
            self._wake.clear()
            conn = _Connection(self, self.session.token)
            try:
                leftover = conn.open()
                self._conn = conn
                if self._stopped.is_set():
                    break
                pinger = threading.Thread(
                    target=self._ping_loop, args=(conn,), name="ferrolink-exp-ping", daemon=True
                )
                pinger.start()
                try:
                    self._serve(conn, leftover)
                finally:
                    conn.close()
                    pinger.join(self.timeout + 1)
            except _Unauthorized as exc:
                log.info("event bus: %s; renewing the token", exc)
                self._renew(conn.token)
            except Exception as exc:  # any failure ends this connection, never the loop
                if isinstance(exc, ProtocolError):
                    self._protocol_error(str(exc))
                if not self._stopped.is_set():
                    # A server-side close is routine (reconnect follows); anything else warns.
                    level = logging.INFO if isinstance(exc, _Lost) else logging.WARNING
                    log.log(level, "event bus connection to %s lost: %s", self.host, exc)
            finally:
                conn.close()
                self._conn = None
                self._set_offline()
            if self._stopped.is_set():
                break
            if conn.was_connected:
                delay = self.reconnect_delay
            if not self._wake.wait(delay):
                delay = min(delay * 2, self.max_reconnect_delay)
        self._set_offline()

    def _renew(self, stale: str) -> None:
        try:
            self.session.renew(stale)
        except FerrolinkError as exc:
            log.warning("event bus: token renewal failed: %s", exc)

    def _serve(self, conn: _Connection, packets: list[str]) -> None:
        while True:
            for packet in packets:
                self._handle(conn, packet)
            if self._stopped.is_set() or conn.closed.is_set():
                return
            try:
                packets = conn.receive()
            except ProtocolError as exc:  # one malformed poll body: the session itself is fine
                self._protocol_error(str(exc))
                packets = []

    def _handle(self, conn: _Connection, packet: str) -> None:
        kind = packet[:1]
        if kind == eio.PONG:
            conn.last_pong = time.monotonic()
        elif kind == eio.NOOP or kind == eio.OPEN:
            pass
        elif kind == eio.PING:  # some servers ping the client; answer like a v4 client
            self._send_quietly(conn, [eio.PONG + packet[1:]])
        elif kind == eio.CLOSE:
            raise _Lost("the server closed the session")
        elif kind == eio.MESSAGE:
            try:
                message = eio.decode_socketio(packet)
            except ProtocolError as exc:
                self._protocol_error(str(exc))
                return
            if message is None:
                return
            if message.kind == "connect":
                self._on_connect(conn)
            elif message.kind == "disconnect":
                raise _Lost("the server disconnected the socket")
            elif message.kind == "error":
                log.warning("event bus: server error packet %r", message.args)
            elif message.kind == "event":
                self._on_event(message.name, message.args)
        else:
            self._protocol_error(f"Engine.IO: unknown packet type in {packet[:80]!r}")

    def _protocol_error(self, text: str) -> None:
        log.warning("event bus: malformed data from %s: %s", self.host, text)
        self.protocol_errors.append(text)

    def _on_connect(self, conn: _Connection) -> None:
        with self._cond:
            self._subscribed.clear()
            channels = list(self._listeners) + sorted(self._watched - set(self._listeners))
            self._connected = True
            self.connects += 1
            conn.was_connected = True
            self._changed()
        log.info("event bus online (%s)", conn.transport)
        if channels:
            self._send_quietly(conn, [eio.encode_event("subscribe", channels)])
        self._fire("online")

    def _on_event(self, name: str, args: tuple[Any, ...]) -> None:
        if name == "subscribed":
            ids = args[0] if args and isinstance(args[0], list) else []
            with self._cond:
                self._subscribed.update(i for i in ids if isinstance(i, str))
                self._changed()
        elif name == "broadcast":
            message = args[0] if args else None
            if not isinstance(message, dict):
                self._protocol_error(f"broadcast event without an object: {args!r:.80}")
                return
            self.replies.observe(message)
            with self._lock:
                targets = [
                    listener
                    for listener in self._listeners.get(str(message.get("channel")), [])
                    if listener.name == message.get("name")
                ]
            for listener in targets:
                listener.deliver(message)
        else:
            log.debug("event bus: ignoring event %r", name)

    def _send_quietly(self, conn: _Connection, packets: list[str]) -> None:
        try:
            conn.send(packets)
        except (_Lost, FerrolinkError, OSError) as exc:
            log.info("event bus: send failed (%s); the connection will be rebuilt", exc)
            conn.close()

    def _ping_loop(self, conn: _Connection) -> None:
        while not conn.closed.wait(conn.ping_interval):
            if time.monotonic() - conn.last_pong > conn.ping_interval + conn.ping_timeout:
                log.warning("event bus: no pong within %g s; reconnecting", conn.ping_timeout)
                conn.close()
                return
            self._send_quietly(conn, [eio.PING])

    def _set_offline(self) -> None:
        with self._cond:
            was = self._connected
            self._connected = False
            self._subscribed.clear()
            self._changed()
        if was:
            log.info("event bus offline")
            self._fire("offline")

    # -- callbacks -----------------------------------------------------------------------

    def _fire(self, name: str) -> None:
        for callback in list(self._callbacks[name]):
            threading.Thread(
                target=_call_flexibly, args=(callback,), name=f"ferrolink-exp-{name}", daemon=True
            ).start()


def _call_flexibly(callback: Callable[..., Any]) -> None:
    """Call with no argument if the callback takes none, else with ``None``."""
    try:
        try:
            takes_none = not inspect.signature(callback).parameters
        except (TypeError, ValueError):
            takes_none = False
        if takes_none:
            callback()
        else:
            callback(None)
    except Exception:
        log.exception("%r callback failed", callback)
