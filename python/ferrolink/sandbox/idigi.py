"""iDigi push monitoring emulator: REST ``/ws/Monitor`` + event sources, and the TCP push server.

REST (HTTPS, and plain HTTP) under ``/ws``:

- ``Monitor`` list (``start``, ``size``, ``condition``; XML, or legacy JSON with ``.json`` or
  ``Accept: application/json``), ``Monitor/{id}`` get / PUT (resets state) / DELETE, POST create
  (201 with a ``Location`` header and a ``<result><location>Monitor/N</location></result>`` body).
- Event sources: ``POST DataPoint/{stream}`` (JSON ``{"data": ...}`` or XML ``<data>``),
  ``PUT FileData/~/{device}/{path}`` (no event over 120 KB; deletes publish nothing),
  ``POST DeviceCore/{device}/connect`` / ``disconnect``, and ``POST sandbox/event``
  (JSON ``{"type", "operation", "keys", "body"}``).
- Basic auth or ``X-API-KEY-ID`` / ``X-API-KEY-SECRET``; ``throttle_next`` injects 429s.

Push (a TLS port and a plain port): ConnectRequest validation (403 bad credentials, 400 malformed
or unknown monitor), batching by ``monBatchSize`` / ``monBatchDuration``, zlib, XML or JSON
envelopes, DataBlockId rotation, explicit acks (a 6-byte ack is a loud protocol error),
re-delivery of unacknowledged blocks and replay of missed events on reconnect, recording of
everything received, and the fault modes of :class:`PushFaults`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from ..idigi import codec
from .httpserver import HttpEmulator, HttpReply, HttpRequest
from .service import Environment, Service

__all__ = ["IdigiService", "PushFaults"]

log = logging.getLogger("ferrolink.sandbox.idigi")

FILEDATA_EVENT_LIMIT = 120 * 1024
_DEFAULTS = {
    "monFormatType": "json",
    "monBatchSize": "100",
    "monBatchDuration": "10",
    "monCompression": "none",
    "monAckOption": "off",
    "monAutoReplayOnConnect": "false",
}
_CHOICES = {
    "monTransportType": ("tcp", "http"),
    "monFormatType": ("json", "xml"),
    "monCompression": ("none", "zlib", "gzip"),
    "monAckOption": ("off", "explicit"),
    "monAutoReplayOnConnect": ("true", "false"),
    "monTransportMethod": ("PUT", "POST"),
}
_WRITABLE = (
    "monTopic",
    "monTransportType",
    "monFormatType",
    "monBatchSize",
    "monBatchDuration",
    "monCompression",
    "monAckOption",
    "monAutoReplayOnConnect",
    "monDescription",
    "monTransportUrl",
    "monTransportToken",
    "monTransportMethod",
    "monConnectTimeout",
    "monResponseTimeout",
    "monTransportHeaders",
)


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class PushFaults:
    """Push-side fault injection; set fields from tests (each connection reads them live).

    ``split_bytes``: write every byte separately. ``coalesce``: write every ready block in one
    ``sendall`` (one TLS record when small). ``drop_mid_frame``: count of blocks after which the
    connection is cut halfway through the frame. ``stall``: send nothing (half-open simulation).
    ``connect_status``: answer the next ConnectRequests with this status, then close.
    ``deflate``: ``"zlib"`` (default), ``"raw"`` or ``"gzip"`` framing for compressed payloads.
    ``delay``: seconds slept before each write.
    """

    split_bytes: bool = False
    coalesce: bool = False
    drop_mid_frame: int = 0
    stall: bool = False
    connect_status: Optional[int] = None
    deflate: str = "zlib"
    delay: float = 0.0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]


@dataclass
class _Monitor:
    id: int
    owner: str
    fields: dict[str, str]
    status: str = "INACTIVE"
    last_connect: str = ""
    last_sent: str = ""
    backlog: deque[dict[str, Any]] = field(default_factory=deque)
    queued_at: float = 0.0
    outstanding: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_block: int = 0
    connection: Optional[_Connection] = None
    raw_out: deque[bytes] = field(default_factory=deque)

    def topics(self) -> list[str]:
        return [t.strip() for t in self.fields.get("monTopic", "").split(",") if t.strip()]

    @property
    def explicit(self) -> bool:
        return self.fields.get("monAckOption") == "explicit"

    @property
    def auto_replay(self) -> bool:
        return self.fields.get("monAutoReplayOnConnect") == "true"

    @property
    def batch_size(self) -> int:
        return max(int(self.fields.get("monBatchSize", "100") or 1), 1)

    def public(self, cst_id: str) -> dict[str, str]:
        out = {"monId": str(self.id), "cstId": cst_id}
        out.update(self.fields)
        out["monStatus"] = self.status
        if self.last_connect:
            out["monLastConnect"] = self.last_connect
        if self.last_sent:
            out["monLastSent"] = self.last_sent
        return out


class _Connection:
    """One accepted push client."""

    def __init__(self, sock: socket.socket, peer: Any) -> None:
        self.sock = sock
        self.peer = peer
        self.closed = threading.Event()
        self.write_lock = threading.Lock()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()


# --- conditions ---------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"\s*(?P<attr>\w+)\s*(?P<op>=|<|>|\s+like\s+)\s*'(?P<value>(?:[^']|'')*)'\s*", re.IGNORECASE
)
_JOIN = re.compile(r"\s*(and|or)\s+", re.IGNORECASE)


def _parse_condition(text: str) -> list[list[tuple[str, str, str]]]:
    """``a='x' and b<'y' or c like 'z%'`` as OR-groups of AND-ed clauses."""
    groups: list[list[tuple[str, str, str]]] = [[]]
    pos = 0
    while True:
        m = _CLAUSE.match(text, pos)
        if not m:
            raise ValueError(f"bad condition near {text[pos : pos + 30]!r}")
        groups[-1].append((m["attr"], m["op"].strip().lower(), m["value"].replace("''", "'")))
        pos = m.end()
        if pos >= len(text):
            return groups
        j = _JOIN.match(text, pos)
        if not j:
            raise ValueError(f"expected 'and' or 'or' near {text[pos : pos + 30]!r}")
        if j.group(1).lower() == "or":
            groups.append([])
        pos = j.end()


def _compare(actual: str, op: str, value: str) -> bool:
    if op == "like":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)
        return re.fullmatch(pattern, actual, re.IGNORECASE | re.DOTALL) is not None
    left: Any = actual
    right: Any = value
    if actual.lstrip("-").isdigit() and value.lstrip("-").isdigit():
        left, right = int(actual), int(value)
    return bool(left == right if op == "=" else left < right if op == "<" else left > right)


def _matches(item: dict[str, str], groups: list[list[tuple[str, str, str]]]) -> bool:
    return any(all(_compare(item.get(a, ""), op, v) for a, op, v in group) for group in groups)


# --- topics -------------------------------------------------------------------------------

_OP_LETTER = {"CREATE": "C", "INSERT": "C", "INSERTION": "C", "UPDATE": "U", "DELETE": "D"}


def _topic_matches(topic: str, event_type: str, operation: str, path: str) -> bool:
    base, _, rest = topic.partition("[")
    ops = {o.strip().upper() for o in rest.rstrip("]").split(",")} if rest else set()
    base_type, _, scope = base.partition("/")
    if base_type != event_type:
        return False
    if ops and _OP_LETTER.get(operation.upper(), operation[:1].upper()) not in ops:
        return False
    if scope:
        return path.startswith(unquote(scope))
    return True


# --- the REST side ------------------------------------------------------------------------


class _Rest(HttpEmulator):
    name = "idigi"
    serve_plain = True

    def __init__(self, owner: IdigiService) -> None:
        super().__init__()
        self.owner = owner

    def handle(self, request: HttpRequest) -> HttpReply:
        return self.owner.handle_rest(request)


class IdigiService(Service):
    """The whole emulator: one REST server plus two push listeners (TLS and plain)."""

    name = "idigi"

    def __init__(self) -> None:
        self.rest = _Rest(self)
        self.faults = PushFaults()
        self.username = "idigi-user"
        self.password = "idigi-sandbox-pass"
        self.api_key_id = "idigi-key"
        self.api_key_secret = "idigi-sandbox-secret"
        self.cst_id = "42"
        self.throttle_next = 0
        #: ("connect", raw ConnectRequest) / ("ack", raw ack) / ("bad", raw bytes) in arrival order.
        self.received: list[tuple[str, bytes]] = []
        self.protocol_errors: list[str] = []
        self._monitors: dict[int, _Monitor] = {}
        self._next_id = 5001
        self._cond = threading.Condition(threading.RLock())
        self._listeners: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._connections: set[_Connection] = set()
        self._stopping = threading.Event()
        self._push_urls: dict[str, str] = {}
        self._tls_context: Optional[ssl.SSLContext] = None

    # -- Service --------------------------------------------------------------------------

    def start(self, env: Environment) -> None:
        opts = env.options
        self.username = str(opts.get("username", self.username))
        self.password = str(opts.get("password", self.password))
        self._stopping.clear()
        self.rest.start(env)
        self._tls_context = env.tls.server_context()
        for kind, port, tls in (
            ("push_tls", int(opts.get("push_tls_port", 0)), True),
            ("push", int(opts.get("push_port", 0)), False),
        ):
            listener = socket.create_server((env.host, port))
            listener.settimeout(0.1)
            self._listeners.append(listener)
            real_port = listener.getsockname()[1]
            self._push_urls[kind] = f"{'tls' if tls else 'tcp'}://{env.host}:{real_port}"
            self._spawn(self._accept_loop, f"sandbox-idigi-{kind}", listener, tls)

    def stop(self) -> None:
        self._stopping.set()
        self.rest.stop()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        with self._cond:
            connections = list(self._connections)
            self._cond.notify_all()
        for conn in connections:
            conn.close()
        for thread in self._threads:
            thread.join(2.0)
        self._threads.clear()

    @property
    def urls(self) -> dict[str, str]:
        urls = self.rest.urls
        urls.update(self._push_urls)
        return urls

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "username": self.username,
            "password": self.password,
            "api_key_id": self.api_key_id,
            "api_key_secret": self.api_key_secret,
        }

    @property
    def rest_hostport(self) -> str:
        """``host:port`` of the HTTPS REST server (the client's ``hostname``)."""
        return self.rest.urls["https"].split("://", 1)[1]

    @property
    def push_tls_port(self) -> int:
        return int(self._push_urls["push_tls"].rsplit(":", 1)[1])

    @property
    def push_port(self) -> int:
        return int(self._push_urls["push"].rsplit(":", 1)[1])

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)

    # -- inspection and injection for tests ------------------------------------------------

    def monitor(self, monitor_id: int) -> dict[str, str]:
        with self._cond:
            return self._monitors[monitor_id].public(self.cst_id)

    def monitor_ids(self) -> list[int]:
        with self._cond:
            return sorted(self._monitors)

    def outstanding(self, monitor_id: int) -> int:
        """Blocks sent but not yet acknowledged."""
        with self._cond:
            return len(self._monitors[monitor_id].outstanding)

    def acks(self) -> list[bytes]:
        return [raw for kind, raw in self.received if kind == "ack"]

    def connected(self, monitor_id: int) -> bool:
        with self._cond:
            mon = self._monitors.get(monitor_id)
            return bool(mon and mon.connection and not mon.connection.closed.is_set())

    def wait_connected(self, monitor_id: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected(monitor_id):
                return True
            time.sleep(0.005)
        return False

    def disconnect(self, monitor_id: int) -> None:
        """Drop the monitor's push connection (the client should reconnect)."""
        with self._cond:
            mon = self._monitors.get(monitor_id)
            conn = mon.connection if mon else None
        if conn:
            conn.close()

    def send_raw(self, monitor_id: int, data: bytes) -> None:
        """Queue bytes to write as they are on the monitor's connection (malformed frames...)."""
        with self._cond:
            self._monitors[monitor_id].raw_out.append(bytes(data))
            self._cond.notify_all()

    def publish(
        self,
        event_type: str,
        operation: str = "UPDATE",
        keys: tuple[str, ...] = (),
        body: Optional[dict[str, Any]] = None,
        path: str = "",
    ) -> int:
        """Publish one event to every matching monitor; returns how many matched."""
        msg: dict[str, Any] = {
            "topic": "/".join([self.cst_id, event_type, *keys]),
            "operation": operation,
            "group": "*",
            "timestamp": _now_iso(),
            event_type: body if body is not None else {},
        }
        matched = 0
        with self._cond:
            for mon in self._monitors.values():
                if mon.fields.get("monTransportType") != "tcp":
                    continue
                if not any(_topic_matches(t, event_type, operation, path) for t in mon.topics()):
                    continue
                matched += 1
                online = mon.connection is not None
                if not online and not (mon.auto_replay or mon.explicit):
                    continue  # nobody listening and nothing persistent: the event is gone
                entry = dict(msg)
                if not online:
                    entry["replay"] = "true"
                if not mon.backlog:
                    mon.queued_at = time.monotonic()
                mon.backlog.append(entry)
            self._cond.notify_all()
        return matched

    # -- REST ------------------------------------------------------------------------------

    def _authorized(self, request: HttpRequest) -> bool:
        auth = request.header("Authorization", "") or ""
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = (
                    base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
                )
            except (ValueError, UnicodeDecodeError):
                return False
            return user == self.username and pw == self.password
        return (
            request.header("X-API-KEY-ID") == self.api_key_id
            and request.header("X-API-KEY-SECRET") == self.api_key_secret
        )

    def handle_rest(self, request: HttpRequest) -> HttpReply:
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return HttpReply(429, "Too Many Requests")
        if not self._authorized(request):
            return HttpReply(
                401, "Unauthorized", headers=[("WWW-Authenticate", 'Basic realm="sandbox"')]
            )
        path = request.path
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) < 2 or parts[0] != "ws":
            return HttpReply(404, f"no resource {path}")
        resource, rest = parts[1], parts[2:]
        as_json = path.endswith(".json") or "json" in (request.header("Accept", "") or "")
        if resource in ("Monitor", "Monitor.json"):
            if rest and rest[-1] in (".json", ".xml"):
                rest = rest[:-1]
            return self._monitor_rest(request, rest, as_json)
        if resource == "DataPoint" and request.method == "POST":
            return self._datapoint(request, rest)
        if resource == "FileData" and request.method in ("PUT", "DELETE"):
            return self._filedata(request, rest)
        if resource == "DeviceCore" and request.method == "POST" and len(rest) == 2:
            status = {"connect": 1, "disconnect": 0}.get(rest[1])
            if status is None:
                return HttpReply(404, "use DeviceCore/{device}/connect or /disconnect")
            body = {
                "devConnectwareId": rest[0],
                "dpConnectionStatus": status,
                "dpLastConnectTime": _now_iso(),
            }
            n = self.publish("DeviceCore", "UPDATE", (rest[0],), body)
            return HttpReply.json({"published": n})
        if resource == "sandbox" and rest == ["event"] and request.method == "POST":
            try:
                spec = request.json()
                n = self.publish(
                    str(spec["type"]),
                    str(spec.get("operation", "UPDATE")),
                    tuple(str(k) for k in spec.get("keys", ())),
                    spec.get("body") or {},
                    str(spec.get("path", "")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                return HttpReply(400, f"bad event: {exc}")
            return HttpReply.json({"published": n})
        return HttpReply(404, f"no resource {path}")

    def _datapoint(self, request: HttpRequest, rest: list[str]) -> HttpReply:
        stream = "/".join(rest)
        text = request.body.decode("utf-8", "replace")
        try:
            if text.lstrip().startswith("{"):
                data = request.json().get("data")
            else:
                root = ElementTree.fromstring(text)
                node = root.find(".//data")
                data = node.text if node is not None else None
                stream_node = root.find(".//streamId")
                if not stream and stream_node is not None and stream_node.text:
                    stream = stream_node.text
        except (ValueError, ElementTree.ParseError) as exc:
            return HttpReply(400, f"bad DataPoint: {exc}")
        if not stream or data is None:
            return HttpReply(400, "a DataPoint needs a stream id and data")
        point = {"streamId": stream, "data": data, "timestamp": _now_iso(), "cstId": self.cst_id}
        n = self.publish("DataPoint", "INSERTION", tuple(stream.split("/")), point)
        return HttpReply(
            201,
            f"<result><location>DataPoint/{escape(stream)}</location><published>{n}</published></result>",
            "application/xml",
        )

    def _filedata(self, request: HttpRequest, rest: list[str]) -> HttpReply:
        path = "/".join(rest)
        if request.method == "DELETE" or len(request.body) > FILEDATA_EVENT_LIMIT:
            return HttpReply(200, "stored (no event published)")
        name = rest[-1] if rest else ""
        body = {
            "id": {"fdPath": "/".join(rest[:-1]) + "/", "fdName": name},
            "fdSize": len(request.body),
            "fdData": base64.b64encode(request.body).decode("ascii"),
        }
        n = self.publish("FileData", "CREATE", tuple(rest), body, path=path)
        return HttpReply(201, f"<result><published>{n}</published></result>", "application/xml")

    def _monitor_rest(self, request: HttpRequest, rest: list[str], as_json: bool) -> HttpReply:
        if not rest:
            if request.method == "GET":
                return self._list(request, as_json)
            if request.method == "POST":
                return self._create(request)
            return HttpReply(405, "use GET or POST on /ws/Monitor")
        ident = rest[0].removesuffix(".json")
        if not ident.isdigit() or int(ident) not in self._monitors:
            return HttpReply(404, f"Monitor {ident} not found")
        monitor_id = int(ident)
        if request.method == "GET":
            return self._render([self.monitor(monitor_id)], 0, 1, 1, 0, as_json)
        if request.method == "DELETE":
            with self._cond:
                mon = self._monitors.pop(monitor_id)
            if mon.connection:
                mon.connection.close()
            return HttpReply(200, "")
        if request.method == "PUT":
            try:
                fields = self._parse_fields(request.body, require=False)
            except ValueError as exc:
                return HttpReply(400, str(exc))
            with self._cond:
                mon = self._monitors[monitor_id]
                mon.fields.update(fields)
                mon.backlog.clear()
                mon.outstanding.clear()
                conn = mon.connection
            if conn:
                conn.close()
            return HttpReply(200, "")
        return HttpReply(405, "use GET, PUT or DELETE on /ws/Monitor/{id}")

    def _parse_fields(self, body: bytes, require: bool) -> dict[str, str]:
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            raise ValueError(f"malformed Monitor XML: {exc}") from None
        if root.tag != "Monitor":
            raise ValueError(f"expected a <Monitor> document, got <{root.tag}>")
        fields: dict[str, str] = {}
        for child in root:
            if child.tag not in _WRITABLE:
                raise ValueError(f"unknown or read-only Monitor element <{child.tag}>")
            value = (child.text or "").strip()
            choices = _CHOICES.get(child.tag)
            if choices and value not in choices:
                raise ValueError(f"{child.tag} must be one of {', '.join(choices)}, got {value!r}")
            if child.tag in ("monBatchSize", "monBatchDuration") and not value.isdigit():
                raise ValueError(f"{child.tag} must be a non-negative integer, got {value!r}")
            fields[child.tag] = value
        if fields.get("monCompression") == "gzip":
            fields["monCompression"] = "zlib"  # "compression has always been deflate"
        if require:
            for name in ("monTopic", "monTransportType"):
                if not fields.get(name):
                    raise ValueError(f"{name} is required")
        return fields

    def _create(self, request: HttpRequest) -> HttpReply:
        try:
            fields = self._parse_fields(request.body, require=True)
        except ValueError as exc:
            return HttpReply(400, f"<error>{escape(str(exc))}</error>", "application/xml")
        with self._cond:
            monitor_id = self._next_id
            self._next_id += 1
            self._monitors[monitor_id] = _Monitor(
                monitor_id, self.username, {**_DEFAULTS, **fields}
            )
        body = (
            '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            f"<result>\n   <location>Monitor/{monitor_id}</location>\n</result>"
        )
        return HttpReply(201, body, "application/xml", [("Location", f"Monitor/{monitor_id}")])

    def _list(self, request: HttpRequest, as_json: bool) -> HttpReply:
        try:
            start = int(request.query_value("start", "0") or 0)
            size = int(request.query_value("size", "1000") or 1000)
            condition = request.query_value("condition")
            groups = _parse_condition(condition) if condition else None
        except ValueError as exc:
            return HttpReply(400, f"bad query: {exc}")
        with self._cond:
            items = [m.public(self.cst_id) for _, m in sorted(self._monitors.items())]
        if groups is not None:
            items = [i for i in items if _matches(i, groups)]
        page = items[start : start + size]
        remaining = max(len(items) - start - len(page), 0)
        return self._render(page, start, size, len(items), remaining, as_json)

    def _render(
        self,
        items: list[dict[str, str]],
        start: int,
        size: int,
        total: int,
        remaining: int,
        as_json: bool,
    ) -> HttpReply:
        envelope = {
            "resultTotalRows": str(total),
            "requestedStartRow": str(start),
            "resultSize": str(len(items)),
            "requestedSize": str(size),
            "remainingSize": str(remaining),
        }
        if as_json:
            return HttpReply.json({**envelope, "items": items})
        attrs = "".join(f' {k}="{v}"' for k, v in envelope.items())
        body = "".join(
            "<Monitor>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items()) + "</Monitor>"
            for item in items
        )
        return HttpReply(
            200,
            f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<result{attrs}>{body}</result>',
            "application/xml",
        )

    # -- push ------------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket, tls: bool) -> None:
        while not self._stopping.is_set():
            try:
                sock, peer = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._serve_connection, f"sandbox-idigi-conn-{peer[1]}", sock, peer, tls)

    def _serve_connection(self, raw: socket.socket, peer: Any, tls: bool) -> None:
        sock: socket.socket = raw
        try:
            sock.settimeout(10)
            if tls and self._tls_context is not None:
                sock = self._tls_context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("push TLS handshake failed: %s", exc)
            raw.close()
            return
        conn = _Connection(sock, peer)
        with self._cond:
            self._connections.add(conn)
        try:
            monitor = self._handshake(conn)
            if monitor is not None:
                sock.settimeout(None)
                self._spawn(self._read_acks, f"sandbox-idigi-acks-{peer[1]}", conn, monitor)
                self._send_loop(conn, monitor)
        except (OSError, ssl.SSLError) as exc:
            log.debug("push connection %s ended: %s", peer, exc)
        finally:
            conn.close()
            self._detach(conn)

    def _handshake(self, conn: _Connection) -> Optional[_Monitor]:
        decoder = codec.FrameDecoder(max_frame_size=200_000)
        raw = b""
        frames: list[codec.Frame] = []
        while not frames:
            chunk = conn.sock.recv(4096)
            if not chunk:
                return None
            raw += chunk
            try:
                frames = decoder.feed(chunk)
            except codec.FrameError as exc:
                self._protocol_error(f"malformed ConnectRequest: {exc}", raw)
                self._reply(conn, codec.STATUS_BAD_REQUEST)
                return None
        request = frames[0]
        self.received.append(("connect", raw))
        if self.faults.connect_status is not None:
            self._reply(conn, self.faults.connect_status)
            return None
        if not isinstance(request, codec.ConnectionRequest) or request.version != 1:
            self._protocol_error(f"expected a version-1 ConnectRequest, got {request!r}", raw)
            self._reply(conn, codec.STATUS_BAD_REQUEST)
            return None
        if request.username != self.username or request.password != self.password:
            self._reply(conn, codec.STATUS_UNAUTHORIZED)
            return None
        old: Optional[_Connection] = None
        with self._cond:
            mon = self._monitors.get(request.monitor_id)
            if (
                mon is None
                or mon.owner != request.username
                or mon.fields.get("monTransportType") != "tcp"
            ):
                mon = None
            else:
                old = mon.connection
                mon.connection = conn
                mon.status = "ACTIVE"
                mon.last_connect = _now_iso()
                if mon.backlog:
                    mon.queued_at = time.monotonic()
        if mon is None:
            self._reply(conn, codec.STATUS_BAD_REQUEST)
            return None
        if old is not None:
            old.close()
        self._reply(conn, codec.STATUS_OK)
        return mon

    def _reply(self, conn: _Connection, status: int) -> None:
        with conn.write_lock:
            conn.sock.sendall(codec.encode_connection_response(status))

    def _protocol_error(self, message: str, raw: bytes) -> None:
        log.error("idigi sandbox PROTOCOL ERROR: %s", message)
        self.protocol_errors.append(message)
        self.received.append(("bad", raw))

    def _read_acks(self, conn: _Connection, mon: _Monitor) -> None:
        # A 6-byte ack (the originals' bug) reads as a huge size: the cap makes it an error.
        decoder = codec.FrameDecoder(max_frame_size=1024)
        try:
            while not conn.closed.is_set():
                chunk = conn.sock.recv(65536)
                if not chunk:
                    break
                try:
                    frames = decoder.feed(chunk)
                except codec.FrameError as exc:
                    self._protocol_error(
                        "bad bytes from push client "
                        f"(not a 10-byte PublishMessageReceived?): {exc}",
                        chunk,
                    )
                    break
                with self._cond:
                    for frame in frames:
                        if isinstance(frame, codec.PublishMessageReceived):
                            self.received.append(
                                ("ack", codec.encode_ack(frame.block_id, frame.status))
                            )
                            if conn is mon.connection:
                                mon.outstanding.pop(frame.block_id, None)
                        else:
                            self._protocol_error(
                                f"unexpected message from client: {frame!r}", chunk
                            )
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
            with self._cond:
                self._cond.notify_all()

    def _detach(self, conn: _Connection) -> None:
        with self._cond:
            self._connections.discard(conn)
            for mon in self._monitors.values():
                if mon.connection is conn:
                    mon.connection = None
                    mon.status = "SUSPENDED" if mon.auto_replay else "INACTIVE"
                    redo = [m for msgs in mon.outstanding.values() for m in msgs]
                    mon.outstanding.clear()
                    if mon.explicit or mon.auto_replay:
                        for m in mon.backlog:
                            m["replay"] = "true"
                        for m in reversed(redo):
                            mon.backlog.appendleft({**m, "replay": "true"})
                    else:
                        mon.backlog.clear()
            self._cond.notify_all()

    def _ready(self, mon: _Monitor) -> bool:
        if mon.raw_out:
            return True
        if not mon.backlog or self.faults.stall:
            return False
        duration = float(mon.fields.get("monBatchDuration", "10") or 0)
        replaying = mon.backlog[0].get("replay") == "true"
        return (
            len(mon.backlog) >= mon.batch_size
            or replaying
            or time.monotonic() - mon.queued_at >= duration
        )

    def _take_block(self, mon: _Monitor) -> bytes:
        """Build the next PublishMessage from the backlog (caller holds the lock)."""
        msgs = [mon.backlog.popleft() for _ in range(min(mon.batch_size, len(mon.backlog)))]
        if mon.backlog:
            mon.queued_at = time.monotonic()
        fmt = mon.fields.get("monFormatType", "json")
        if fmt == "json":
            text = codec.json_document(msgs)
            format_byte = codec.FORMAT_JSON
        else:
            text = codec.xml_document(msgs)
            format_byte = codec.FORMAT_XML
        block_id = mon.next_block
        mon.next_block = (mon.next_block + 1) & 0xFFFF
        if mon.explicit:
            mon.outstanding[block_id] = msgs
        mon.last_sent = _now_iso()
        payload = text.encode("utf-8")
        compression = codec.COMPRESSION_NONE
        if mon.fields.get("monCompression") == "zlib":
            # Compressed here, not by the codec: the faults choose the deflate framing.
            wbits = {"raw": -15, "gzip": 31}.get(self.faults.deflate, 15)
            packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
            payload = packer.compress(payload) + packer.flush()
            compression = codec.COMPRESSION_ZLIB
        return codec.encode_publish_message(
            block_id,
            payload,
            count=len(msgs),
            compression=compression,
            format=format_byte,
            raw=True,
        )

    def _send_loop(self, conn: _Connection, mon: _Monitor) -> None:
        while not conn.closed.is_set() and not self._stopping.is_set():
            with self._cond:
                if mon.connection is not conn:
                    return
                if not self._ready(mon):
                    self._cond.wait(0.02)
                    continue
                chunks: list[bytes] = []
                while mon.raw_out:
                    chunks.append(mon.raw_out.popleft())
                if not chunks:
                    chunks.append(self._take_block(mon))
                    while self.faults.coalesce and mon.backlog and self._ready(mon):
                        chunks.append(self._take_block(mon))
                cut = False
                if self.faults.drop_mid_frame > 0 and not mon.raw_out:
                    self.faults.drop_mid_frame -= 1
                    cut = True
            self._write(conn, chunks, cut)
            if cut:
                conn.close()
                return

    def _write(self, conn: _Connection, chunks: list[bytes], cut: bool) -> None:
        faults = self.faults
        if faults.delay:
            time.sleep(faults.delay)
        if cut:
            frame = chunks[0]
            with conn.write_lock:
                conn.sock.sendall(frame[: len(frame) // 2])
            return
        with conn.write_lock:
            if faults.split_bytes:
                for chunk in chunks:
                    for i in range(len(chunk)):
                        conn.sock.sendall(chunk[i : i + 1])
            else:
                conn.sock.sendall(b"".join(chunks))

    def __repr__(self) -> str:
        return f"<IdigiService monitors={len(self._monitors)} {self._push_urls}>"

    # JSON for debugging from the CLI.
    def dump(self) -> str:
        with self._cond:
            return json.dumps([m.public(self.cst_id) for m in self._monitors.values()], indent=2)
