"""The EXP sandbox: auth, document collections, data, the broadcast hub and Engine.IO v3.

What it implements (spec §10):

- ``POST /api/auth/login`` for users, devices and consumer apps (HS256 JWTs verified against
  the device secret / API key; ``exp`` in ms, s or absent; ``allowPairing`` fallback) and
  ``POST /api/auth/token``; every other ``/api/*`` route wants a valid Bearer.
- Collections (devices, things, experiences, locations, connectors/feeds, content) with
  dotted-path equality filters (arrays match any element), ``limit``/``skip`` and
  ``{results, total}``; feed data; the data store keyed by (group, key).
- Delivery and layout URLs answer 200 when ``_rt`` is a valid restricted token.
- The broadcast hub: each broadcast is pushed to every subscribed socket, held open for its
  ``timeout`` and answered with the responses posted for its id.
- Engine.IO v3 at ``/socket.io/``: polling (binary framing, text with ``b64=1``) with ``40``
  sent in a later poll, and the WebSocket upgrade (``2probe``/``3probe``/``5``) on the same port.

Options (``sandbox.start(["exp"], options={"exp": {...}})``): ``token_ttl`` (seconds),
``polling_only``, ``ping_interval``/``ping_timeout`` (ms), ``poll_duration`` (seconds),
``deterministic`` (tokens ``token-N``), ``clock`` (a ``time.time``-like callable).
Fault hooks: :meth:`ExpService.drop_sockets`, :meth:`ExpService.invalidate_tokens`,
:attr:`ExpService.token_ttl`, :meth:`ExpService.inject_packet`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import unquote

from .. import _core
from ..errors import FerrolinkError, ProtocolError
from ..exp import eio
from .httpserver import HttpEmulator, HttpReply, HttpRequest
from .service import Environment
from .wsserver import WebSocketClosed, WebSocketConnection, accept_headers

__all__ = ["ExpService"]

ORGANIZATION = "scala"
USER = {"username": "joe@example.com", "password": "joesmoe25", "organization": ORGANIZATION}
DEVICE_UUID = "d0000000-0000-4000-8000-000000000001"
DEVICE_SECRET = "device-secret-1"
CONSUMER_UUID = "c0000000-0000-4000-8000-000000000001"
CONSUMER_API_KEY = "consumer-api-key-1"
EXPERIENCE_UUID = "e0000000-0000-4000-8000-000000000001"
LOCATION_UUID = "10000000-0000-4000-8000-000000000001"

# URL path prefix -> collection name.
_COLLECTIONS = {
    ("devices",): "devices",
    ("things",): "things",
    ("experiences",): "experiences",
    ("locations",): "locations",
    ("connectors", "feeds"): "feeds",
    ("content",): "content",
}
_DEFAULT_NAMES = {
    "devices": "New Device",
    "things": "New Thing",
    "experiences": "New Experience",
    "locations": "New Location",
    "feeds": "New Feed",
    "content": "New Content",
}


def _error(status: int, code: str, message: str) -> HttpReply:
    return HttpReply.json({"code": code, "message": message}, status)


@dataclass
class _Token:
    identity: dict[str, Any]
    expires_ms: int
    restricted: bool = False


@dataclass
class _Socket:
    """One Engine.IO session: outgoing queue, subscriptions and its transport."""

    sid: str
    last_seen: float
    queue: deque[str] = field(default_factory=deque)
    channels: set[str] = field(default_factory=set)
    ws: Optional[WebSocketConnection] = None
    upgraded: bool = False
    closed: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)

    def push(self, packet: str) -> None:
        with self.cond:
            if self.closed:
                return
            if self.upgraded and self.ws is not None:
                try:
                    self.ws.send_text(packet)
                except WebSocketClosed:
                    self.closed = True
                return
            self.queue.append(packet)
            self.cond.notify_all()

    def take(self, wait: float) -> list[str]:
        """Queued packets for a long poll: waits up to ``wait`` s, then a noop."""
        with self.cond:
            if not self.queue and not self.closed and not self.upgraded:
                self.cond.wait(wait)
            if self.closed:
                return [eio.CLOSE]
            if self.upgraded or not self.queue:
                return [eio.NOOP]
            packets = list(self.queue)
            self.queue.clear()
            return packets

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        if self.ws is not None:
            self.ws.close()


class ExpService(HttpEmulator):
    name = "exp"

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.clock: Callable[[], float] = time.time
        self.token_ttl = 3600.0
        self.upgrades: list[str] = ["websocket"]
        self.ping_interval = 25000
        self.ping_timeout = 60000
        self.poll_duration = 10.0
        self.deterministic = False
        self.stats: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._tokens: dict[str, _Token] = {}
        self._device_secrets: dict[str, str] = {DEVICE_UUID: DEVICE_SECRET}
        self._consumer_keys: dict[str, str] = {CONSUMER_UUID: CONSUMER_API_KEY}
        self._users = [dict(USER)]
        self.collections: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in _DEFAULT_NAMES}
        self.data: dict[tuple[str, str], Any] = {}
        self._sockets: dict[str, _Socket] = {}
        self._pending: dict[str, list[Any]] = {}
        self._stopping = threading.Event()
        self._seed()

    # -- setup ---------------------------------------------------------------------------

    def configure(self, env: Environment) -> None:
        opts = env.options
        self.token_ttl = float(opts.get("token_ttl", self.token_ttl))
        if opts.get("polling_only"):
            self.upgrades = []
        self.ping_interval = int(opts.get("ping_interval", self.ping_interval))
        self.ping_timeout = int(opts.get("ping_timeout", self.ping_timeout))
        self.poll_duration = float(opts.get("poll_duration", self.poll_duration))
        self.deterministic = bool(opts.get("deterministic", False))
        if opts.get("clock") is not None:
            self.clock = opts["clock"]

    def stop(self) -> None:
        self._stopping.set()
        self.drop_sockets()
        super().stop()

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "username": USER["username"],
            "password": USER["password"],
            "organization": ORGANIZATION,
            "device_uuid": DEVICE_UUID,
            "device_secret": DEVICE_SECRET,
            "consumer_uuid": CONSUMER_UUID,
            "api_key": CONSUMER_API_KEY,
        }

    @property
    def url(self) -> str:
        return self.urls["https"]

    def new_id(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._ids):012d}"

    def _put(self, collection: str, doc: dict[str, Any]) -> dict[str, Any]:
        doc.setdefault("uuid", self.new_id())
        self.collections[collection][doc["uuid"]] = doc
        return doc

    def _seed(self) -> None:
        self._put(
            "locations",
            {
                "uuid": LOCATION_UUID,
                "name": "Lobby",
                "zones": [{"key": "entrance", "name": "Entrance"}, {"key": "bar", "name": "Bar"}],
            },
        )
        self._put("experiences", {"uuid": EXPERIENCE_UUID, "name": "Welcome"})
        self._put(
            "devices",
            {
                "uuid": DEVICE_UUID,
                "name": "Lobby Player",
                "subtype": "scala:device:player",
                "experience": {"uuid": EXPERIENCE_UUID},
                "location": {"uuid": LOCATION_UUID, "zones": [{"key": "entrance"}]},
            },
        )
        self._put("devices", {"name": "Spare Player", "subtype": "scala:device:player"})
        self._put(
            "things",
            {
                "name": "Badge",
                "subtype": "scala:thing:rfid",
                "id": "rfid-1",
                "location": {"uuid": LOCATION_UUID, "zones": [{"key": "bar"}]},
            },
        )
        self._put(
            "feeds",
            {
                "name": "Weather",
                "subtype": "scala:feed:weather",
                "dataType": "static",
                "searchValue": "Oslo",
            },
        )
        self._put(
            "feeds",
            {"name": "Search", "subtype": "scala:feed:weather", "dataType": "dynamic"},
        )
        root = self._put(
            "content",
            {"name": "Demo", "subtype": "scala:content:folder", "path": "/Demo", "parent": None},
        )
        for doc in (
            {
                "name": "logo file.png",
                "subtype": "scala:content:file",
                "path": "/Demo/logo file.png",
                "variants": [{"name": "thumb 320"}],
            },
            {"name": "Menu", "subtype": "scala:content:app", "path": "/Demo/Menu"},
            {
                "name": "Site",
                "subtype": "scala:content:url",
                "path": "/Demo/Site",
                "url": "https://example.com/",
            },
            {"name": "Nested", "subtype": "scala:content:folder", "path": "/Demo/Nested"},
        ):
            self._put("content", {**doc, "parent": root["uuid"]})

    # -- fault hooks ---------------------------------------------------------------------

    def drop_sockets(self) -> int:
        """Close every Engine.IO connection (clients must reconnect and resubscribe)."""
        with self.lock:
            sockets = list(self._sockets.values())
            self._sockets.clear()
        for sock in sockets:
            sock.close()
        return len(sockets)

    def invalidate_tokens(self) -> None:
        """Forget every issued token (REST answers 401 until the client logs in again)."""
        with self.lock:
            self._tokens.clear()

    def inject_packet(self, packet: str) -> int:
        """Send a raw Engine.IO packet (e.g. a malformed one) to every open socket."""
        with self.lock:
            sockets = list(self._sockets.values())
        for sock in sockets:
            sock.push(packet)
        return len(sockets)

    def socket_count(self) -> int:
        with self.lock:
            return len(self._sockets)

    # -- auth ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _issue(self, identity: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            n = next(self._ids)
            token = f"token-{n}" if self.deterministic else secrets.token_urlsafe(24)
            restricted = f"rt-{n}" if self.deterministic else secrets.token_urlsafe(16)
            expires = self._now_ms() + int(self.token_ttl * 1000)
            self._tokens[token] = _Token(identity, expires)
            self._tokens[restricted] = _Token(identity, expires, restricted=True)
        return {
            "token": token,
            "expiration": expires,
            "identity": identity,
            "restrictedToken": restricted,
            "api": {"host": self.url},
            "network": {"host": self.url, "uuid": "network-1", "isPrimary": True},
        }

    def _valid(self, token: Optional[str], restricted: bool = False) -> Optional[dict[str, Any]]:
        if not token:
            return None
        with self.lock:
            entry = self._tokens.get(token)
        if entry is None or entry.expires_ms <= self._now_ms():
            return None
        if entry.restricted and not restricted:
            return None
        return entry.identity

    def _bearer(self, request: HttpRequest) -> Optional[dict[str, Any]]:
        header = request.header("Authorization", "") or ""
        scheme, _, token = header.partition(" ")
        return self._valid(token.strip()) if scheme.lower() == "bearer" else None

    def _login(self, request: HttpRequest) -> HttpReply:
        self.stats["login"] += 1
        try:
            body = request.json()
        except ValueError:
            return _error(400, "auth.badRequest", "The login body is not JSON.")
        if not isinstance(body, dict):
            return _error(400, "auth.badRequest", "The login body must be an object.")
        if "token" in body:
            identity = self._jwt_identity(body["token"])
        else:
            identity = self._user_identity(body)
        if identity is None:
            self.stats["login_rejected"] += 1
            return _error(401, "authentication.failed", "Authentication failed.")
        return HttpReply.json(self._issue(identity))

    def _user_identity(self, body: dict[str, Any]) -> Optional[dict[str, Any]]:
        org = body.get("organization")
        for user in self._users:
            if (body.get("username"), body.get("password"), org) == (
                user["username"],
                user["password"],
                user["organization"],
            ):
                return {
                    "type": "user",
                    "uuid": "user-1",
                    "organization": org,
                    "username": user["username"],
                    "role": "admin",
                    "isPairing": False,
                }
        return None

    def _jwt_identity(self, token: Any) -> Optional[dict[str, Any]]:
        if not isinstance(token, str):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        except (IndexError, ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict):
            return None
        kind, uuid = claims.get("type"), claims.get("uuid")
        with self.lock:
            key = (
                (self._device_secrets if kind == "device" else self._consumer_keys).get(str(uuid))
                if kind in ("device", "consumerApp")
                else None
            )
        verified = False
        if key is not None:
            try:
                _core.jwt_decode_hs256(token, key)
                verified = True
            except FerrolinkError:
                verified = False
        if verified and self._expired(claims.get("exp")):
            verified = False
        if verified:
            return {"type": kind, "uuid": uuid, "organization": ORGANIZATION, "isPairing": False}
        if kind == "device" and claims.get("allowPairing"):
            return {"type": "device", "uuid": "_", "organization": ORGANIZATION, "isPairing": True}
        return None

    def _expired(self, exp: Any) -> bool:
        """``exp`` may be epoch ms (the Python SDK), seconds (JS) or absent (iOS)."""
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return False
        exp_ms = exp if exp > 1e11 else exp * 1000
        return bool(exp_ms <= self._now_ms())

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpReply:
        path = request.path
        if path.rstrip("/") == "/socket.io":
            return self._socketio(request)
        if path == "/api/auth/login" and request.method == "POST":
            return self._login(request)
        parts = [unquote(p) for p in path.split("/")[1:]]
        if parts[:2] == ["api", "delivery"] or (
            len(parts) == 4 and parts[1] == "locations" and parts[3] == "layout"
        ):
            return self._restricted(request, parts)
        identity = self._bearer(request)
        if identity is None:
            self.stats["unauthorized"] += 1
            return _error(401, "authentication.required", "A valid bearer token is required.")
        self.stats["authorized"] += 1
        if path == "/api/auth/token" and request.method == "POST":
            self.stats["refresh"] += 1
            return HttpReply.json(self._issue(identity))
        if parts[:1] != ["api"]:
            return _error(404, "route.notFound", f"No route {path}.")
        rest = parts[1:]
        if rest[:1] == ["data"]:
            return self._data(request, rest[1:])
        if rest[:2] == ["networks", "current"] and request.method == "POST":
            if rest[2:] == ["broadcasts"]:
                return self._broadcast(request)
            if rest[2:] == ["responses"]:
                return self._respond(request)
        for prefix, collection in _COLLECTIONS.items():
            if tuple(rest[: len(prefix)]) == prefix:
                return self._collection(request, collection, rest[len(prefix) :])
        return _error(404, "route.notFound", f"No route {path}.")

    def _restricted(self, request: HttpRequest, parts: list[str]) -> HttpReply:
        if self._valid(request.query_value("_rt"), restricted=True) is None:
            return _error(401, "authentication.required", "A valid _rt token is required.")
        if parts[1] == "locations":
            ok = parts[2] in self.collections["locations"]
            return (
                HttpReply(200, b"<svg/>", "image/svg+xml")
                if ok
                else _error(404, "location.notFound", "No such location.")
            )
        content_path = "/" + "/".join(parts[2:])
        with self.lock:
            found = any(d.get("path") == content_path for d in self.collections["content"].values())
        if not found:
            return _error(404, "content.notFound", f"No content at {content_path}.")
        variant = request.query_value("variant")
        return HttpReply(200, f"content {content_path} variant={variant}".encode())

    # -- collections ---------------------------------------------------------------------

    def _collection(self, request: HttpRequest, name: str, rest: list[str]) -> HttpReply:
        docs = self.collections[name]
        method = request.method
        if not rest:
            if method == "GET":
                with self.lock:
                    items = [copy.deepcopy(d) for d in docs.values()]
                return self._page(items, request)
            if method == "POST":
                body = self._json_body(request, default={})
                if not isinstance(body, dict):
                    return _error(400, "document.invalid", "The document must be an object.")
                body.setdefault("name", _DEFAULT_NAMES[name])
                with self.lock:
                    body["uuid"] = self.new_id()
                    docs[body["uuid"]] = body
                    return HttpReply.json(copy.deepcopy(body))
            return _error(405, "method.notAllowed", f"{method} is not allowed here.")
        uuid = rest[0]
        if name == "feeds" and rest[1:] == ["data"] and method == "GET":
            return self._feed_data(request, uuid)
        if len(rest) != 1:
            return _error(404, "route.notFound", f"No route {request.path}.")
        with self.lock:
            doc = docs.get(uuid)
            if doc is None:
                return _error(404, f"{name}.notFound", f"No {name} item {uuid}.")
            if method == "GET":
                return HttpReply.json(copy.deepcopy(doc))
            if method == "PATCH":
                body = self._json_body(request, default={})
                if not isinstance(body, dict):
                    return _error(400, "document.invalid", "The document must be an object.")
                doc.update(body)
                doc["uuid"] = uuid
                return HttpReply.json(copy.deepcopy(doc))
            if method == "DELETE":
                del docs[uuid]
                return HttpReply.json({})
        return _error(405, "method.notAllowed", f"{method} is not allowed here.")

    @staticmethod
    def _json_body(request: HttpRequest, default: Any) -> Any:
        if not request.body:
            return default
        try:
            return request.json()
        except ValueError:
            return None

    def _page(self, items: list[dict[str, Any]], request: HttpRequest) -> HttpReply:
        filters = {k: v[-1] for k, v in request.query.items() if k not in ("limit", "skip")}
        matches = [d for d in items if all(_matches(d, k, v) for k, v in filters.items())]
        try:
            skip = int(request.query_value("skip", "0") or 0)
            limit_text = request.query_value("limit")
            limit = int(limit_text) if limit_text else None
        except ValueError:
            return _error(400, "query.invalid", "limit and skip must be integers.")
        page = matches[max(skip, 0) :]
        if limit is not None:
            page = page[: max(limit, 0)]
        return HttpReply.json({"results": page, "total": len(matches)})

    def _feed_data(self, request: HttpRequest, uuid: str) -> HttpReply:
        with self.lock:
            feed = copy.deepcopy(self.collections["feeds"].get(uuid))
        if feed is None:
            return _error(404, "feeds.notFound", f"No feed {uuid}.")
        search = feed.get("searchValue")
        if feed.get("dataType") == "dynamic":
            search = request.query_value("searchValue")
        return HttpReply.json(
            {
                "search": {"search": search, "maxResults": 10},
                "details": {"name": feed.get("name"), "lastBuildDate": "2017-05-01T00:00:00Z"},
                "items": [
                    {
                        "text": f"{search}: sunny",
                        "date": "2017-05-01T00:00:00Z",
                        "images": [{"url": "https://example.com/sun.png"}],
                        "raw": {},
                    }
                ],
            }
        )

    # -- data ----------------------------------------------------------------------------

    def _data(self, request: HttpRequest, rest: list[str]) -> HttpReply:
        method = request.method
        if not rest and method == "GET":
            with self.lock:
                items = [
                    {"group": g, "key": k, "value": copy.deepcopy(v)}
                    for (g, k), v in self.data.items()
                ]
            return self._page(items, request)
        if len(rest) != 2:
            return _error(404, "route.notFound", f"No route {request.path}.")
        group, key = rest
        with self.lock:
            if method == "GET":
                if (group, key) not in self.data:
                    return _error(404, "data.notFound", f"No data {group}/{key}.")
                value = copy.deepcopy(self.data[(group, key)])
                return HttpReply.json({"group": group, "key": key, "value": value})
            if method == "PUT":
                try:
                    value = request.json()
                except ValueError:
                    return _error(400, "data.invalid", "The value must be JSON.")
                self.data[(group, key)] = value
                return HttpReply.json({"group": group, "key": key, "value": value})
            if method == "DELETE":
                self.data.pop((group, key), None)
                return HttpReply.json({})
        return _error(405, "method.notAllowed", f"{method} is not allowed here.")

    # -- broadcast hub -------------------------------------------------------------------

    def _broadcast(self, request: HttpRequest) -> HttpReply:
        try:
            timeout_ms = float(request.query_value("timeout", "0") or 0)
            body = request.json()
        except ValueError:
            return _error(400, "broadcast.invalid", "Bad timeout or body.")
        if not isinstance(body, dict) or not isinstance(body.get("channel"), str):
            return _error(400, "broadcast.invalid", "A broadcast needs a channel.")
        broadcast_id = self.new_id()
        message = {
            "id": broadcast_id,
            "channel": body["channel"],
            "name": body.get("name"),
            "payload": body.get("payload"),
        }
        packet = eio.encode_event("broadcast", message)
        self._reap()
        with self.lock:
            self._pending[broadcast_id] = []
            targets = [s for s in self._sockets.values() if body["channel"] in s.channels]
        self.stats["broadcast"] += 1
        for sock in targets:
            sock.push(packet)
        self._stopping.wait(min(max(timeout_ms, 0.0), 60000.0) / 1000)
        with self.lock:
            responses = self._pending.pop(broadcast_id, [])
        return HttpReply.json(responses)

    def _respond(self, request: HttpRequest) -> HttpReply:
        body = self._json_body(request, default=None)
        if not isinstance(body, dict):
            return _error(400, "response.invalid", "A response must be an object.")
        with self.lock:
            pending = self._pending.get(str(body.get("id")))
            if pending is not None:  # late responses are dropped, as on EXP
                pending.append(body.get("payload"))
        return HttpReply.json({})

    # -- Engine.IO -----------------------------------------------------------------------

    def _reap(self) -> None:
        """Forget sockets silent for longer than a ping interval plus the ping timeout."""
        limit = time.monotonic() - (self.ping_interval + self.ping_timeout) / 1000
        with self.lock:
            dead = [s for s in self._sockets.values() if s.last_seen < limit and s.ws is None]
            for sock in dead:
                del self._sockets[sock.sid]
        for sock in dead:
            sock.close()

    def _socketio(self, request: HttpRequest) -> HttpReply:
        if request.query_value("EIO") != "3":
            return _error(400, "eio.unsupported", "Only Engine.IO v3 (EIO=3) is spoken here.")
        if self._valid(request.query_value("token")) is None:
            self.stats["socket_unauthorized"] += 1
            return _error(401, "authentication.required", "A valid token is required.")
        transport = request.query_value("transport")
        sid = request.query_value("sid")
        if transport == "websocket":
            return self._websocket(request, sid)
        if transport != "polling":
            return _error(400, "eio.transport", f"Unknown transport {transport!r}.")
        binary = request.query_value("b64") != "1"
        if sid is None:
            if request.method != "GET":
                return _error(400, "eio.handshake", "The handshake is a GET.")
            sock = self._open_socket()
            # 40 goes out in a later poll: socketIO-client 0.7 reads only the first packet.
            sock.push(eio.MESSAGE + "0")
            return self._poll_reply([self._open_packet(sock)], binary)
        with self.lock:
            sock_or_none = self._sockets.get(sid)
        if sock_or_none is None:
            return _error(400, "eio.session", "Session ID unknown.")
        sock = sock_or_none
        sock.last_seen = time.monotonic()
        if request.method == "GET":
            packets = sock.take(self.poll_duration)
            if packets == [eio.CLOSE]:
                self._forget(sock)
            return self._poll_reply(packets, binary)
        if request.method == "POST":
            try:
                packets = eio.decode_payload(request.body)
            except ProtocolError as exc:
                return HttpReply(400, str(exc))
            for packet in packets:
                self._incoming(sock, packet)
            return HttpReply(200, "ok")
        return _error(405, "method.notAllowed", "Polling is GET or POST.")

    def _open_socket(self) -> _Socket:
        sid = secrets.token_hex(10)
        sock = _Socket(sid, time.monotonic())
        with self.lock:
            self._sockets[sid] = sock
        self.stats["socket_open"] += 1
        return sock

    def _open_packet(self, sock: _Socket) -> str:
        return eio.encode_open(sock.sid, self.upgrades, self.ping_interval, self.ping_timeout)

    def _forget(self, sock: _Socket) -> None:
        with self.lock:
            if self._sockets.get(sock.sid) is sock:
                del self._sockets[sock.sid]
        sock.close()

    @staticmethod
    def _poll_reply(packets: list[str], binary: bool) -> HttpReply:
        ctype = "application/octet-stream" if binary else "text/plain; charset=UTF-8"
        return HttpReply(200, eio.encode_payload(packets, binary=binary), ctype)

    def _incoming(self, sock: _Socket, packet: str) -> None:
        sock.last_seen = time.monotonic()
        if packet == eio.PING:
            sock.push(eio.PONG)
        elif packet == eio.CLOSE:
            self._forget(sock)
        elif packet.startswith(eio.MESSAGE):
            try:
                decoded = eio.decode_socketio(packet)
            except ProtocolError as exc:
                self.log.warning("exp sandbox: %s", exc)
                return
            if decoded and decoded.kind == "event" and decoded.name == "subscribe":
                ids = decoded.args[0] if decoded.args else []
                ids = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
                with self.lock:
                    sock.channels.update(ids)
                sock.push(eio.encode_event("subscribed", ids))

    def _websocket(self, request: HttpRequest, sid: Optional[str]) -> HttpReply:
        if "websocket" not in self.upgrades:
            return _error(400, "eio.transport", "This server is polling only.")
        key = request.header("Sec-WebSocket-Key")
        if (request.header("Upgrade") or "").lower() != "websocket" or not key:
            return _error(400, "eio.upgrade", "Expected a WebSocket upgrade.")
        if sid is None:
            sock = self._open_socket()
            fresh = True
        else:
            with self.lock:
                existing = self._sockets.get(sid)
            if existing is None:
                return _error(400, "eio.session", "Session ID unknown.")
            sock, fresh = existing, False

        def serve(reader: Any, writer: Any) -> None:
            ws = WebSocketConnection(reader, writer)
            sock.ws = ws
            try:
                if fresh:  # a direct WebSocket connection: handshake and connect right away
                    ws.send_text(self._open_packet(sock))
                    with sock.cond:
                        sock.upgraded = True
                    ws.send_text(eio.MESSAGE + "0")
                while not sock.closed:
                    packet = ws.receive()
                    if packet == eio.PING + "probe":
                        ws.send_text(eio.PONG + "probe")
                    elif packet == eio.UPGRADE:
                        self._finish_upgrade(sock, ws)
                    else:
                        self._incoming(sock, packet)
            except WebSocketClosed:
                pass
            finally:
                self._forget(sock)

        return HttpReply(101, b"", headers=accept_headers(key), takeover=serve)

    @staticmethod
    def _finish_upgrade(sock: _Socket, ws: WebSocketConnection) -> None:
        # Flush what polling had queued, in order, then switch pushes to the WebSocket.
        with sock.cond:
            for packet in sock.queue:
                ws.send_text(packet)
            sock.queue.clear()
            sock.upgraded = True
            sock.cond.notify_all()


def _matches(doc: Any, path: str, wanted: str) -> bool:
    """Equality on a dotted path; a list anywhere on the way matches if any element does."""
    if isinstance(doc, list):
        return any(_matches(item, path, wanted) for item in doc)
    head, _, rest = path.partition(".")
    if not isinstance(doc, dict) or head not in doc:
        return False
    value = doc[head]
    if rest:
        return _matches(value, rest, wanted)
    if isinstance(value, list):
        return any(_scalar_equal(v, wanted) for v in value)
    return _scalar_equal(value, wanted)


def _scalar_equal(value: Any, wanted: str) -> bool:
    if isinstance(value, str):
        return value == wanted
    return json.dumps(value) == wanted
