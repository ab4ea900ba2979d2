"""The MyQttHub sandbox: the HTTPS REST bridge, routing in-process or through a real broker.

Routes (all ``POST``, JSON bodies parsed whatever the Content-Type): ``/login``,
``/logout``, ``/publish``, ``/subscribe``, ``/pull``, ``/get-subscriptions``,
``/change-my-password``, ``/domain/list``, ``/domain/view``, ``/device/list`` and
``/stashed/download``. Replies match the service's documented ones to the byte where known:

- login: 200 JSON ``{tokenId, stamp, validUntil}``; failure is a **200** with the plain text
  ``Service denied (...)``;
- a missing, unknown or expired token: 400 with the Java-flavoured ``Token not valid,
  expired or login session needed`` text; logout: 200 ``Logout completed``.

Our choices where the real service is undocumented: ``/publish`` answers 200 with an empty
body; ``/subscribe`` answers the granted QoS per entry (as SUBACK does); ``/get-subscriptions``
answers ``[[filter, qos], ...]``; ``/pull`` drains the queue and answers
``[{topic, payload (base64), qos, retain, dup}, ...]``; a payload over the size limit or not
base64 answers 400 with a ``Failed to complete request, error was: ...`` text.

Routing: in-process by default (topic filters, retained messages, QoS = min(publish,
subscription)). With ``options["broker"] = "host:port"`` the sandbox is a bridge: REST
publishes go to that MQTT broker (paho-mqtt, imported only then) and broker messages that
match a login's subscriptions are queued for ``/pull``.

Options: :attr:`MyQttHubService.OPTIONS`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookies import CookieError, SimpleCookie
from typing import Any, Callable, Optional

from ..myqtthub.topics import filter_problem, matches, topic_problem
from .httpserver import HttpEmulator, HttpReply, HttpRequest
from .service import Environment, Option

__all__ = ["DENIED", "LOGOUT_OK", "TOKEN_ERROR", "MyQttHubService"]

DENIED = (
    "Service denied (auth login failure, wrong password, identifier rejected or connection refused)"
)
TOKEN_ERROR = (
    "Failed to complete request, error was: java.lang.Exception: Authentication failure, "
    "failed to complete operation, error was: Token not valid, expired or login session needed"
)
LOGOUT_OK = "Logout completed"
FAILED = "Failed to complete request, error was: "
DEFAULT_TTL = 84600
DEFAULT_MAX_MESSAGE = 2 * 1024 * 1024


@dataclass
class _Device:
    domain: str
    client_id: str
    user_name: str
    password: str
    is_admin: bool = False


@dataclass
class _ClientState:
    """What the broker keeps per clientId: subscriptions and the queue /pull drains."""

    client_id: str
    subscriptions: dict[str, int] = field(default_factory=dict)
    queue: deque[dict[str, Any]] = field(default_factory=deque)


@dataclass
class _Login:
    token: str
    device: _Device
    valid_until: float
    state: _ClientState


class _Broker:
    """The bridge to a real MQTT broker (paho-mqtt, optional dependency)."""

    def __init__(
        self, address: str, on_message: Callable[[str, bytes, int, bool, bool], None]
    ) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("bridge mode needs paho-mqtt: pip install paho-mqtt") from exc
        host, _, port = address.rpartition(":")
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,  # type: ignore[attr-defined]
            client_id="ferrolink-sandbox-" + secrets.token_hex(6),
        )
        self._subscribed: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._client.on_message = lambda _c, _u, m: on_message(
            m.topic, bytes(m.payload), int(m.qos), bool(m.retain), bool(m.dup)
        )
        self._client.on_subscribe = self._on_subscribe
        connected = threading.Event()
        self._client.on_connect = lambda *_args: connected.set()
        self._client.connect(host or "127.0.0.1", int(port))
        self._client.loop_start()
        if not connected.wait(10):
            self.stop()
            raise RuntimeError(f"the MQTT broker at {address} did not accept the bridge")

    def _on_subscribe(self, _client: Any, _userdata: Any, mid: int, *_rest: Any) -> None:
        with self._lock:
            event = self._subscribed.setdefault(mid, threading.Event())
        event.set()

    def subscribe(self, topic_filter: str) -> None:
        """Subscribe at QoS 2 (delivered QoS is then the publisher's) and wait for SUBACK."""
        with self._lock:
            _result, mid = self._client.subscribe(topic_filter, qos=2)
            event = self._subscribed.setdefault(mid or 0, threading.Event())
        event.wait(10)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body) if request.body else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(status: int, text: str) -> HttpReply:
    return HttpReply(status, text, "text/plain")


def _json(data: Any) -> HttpReply:
    return HttpReply(200, json.dumps(data), "application/json")


def _pull_entry(topic: str, encoded: str, qos: int, retain: bool, dup: bool) -> dict[str, Any]:
    """One queued message as ``/pull`` answers it (``encoded``: the payload in base64)."""
    return {"topic": topic, "payload": encoded, "qos": qos, "retain": retain, "dup": dup}


# Services only an administrator's login may call.
_ADMIN_ONLY = frozenset({"/domain/list", "/domain/view", "/device/list"})


class MyQttHubService(HttpEmulator):
    name = "myqtthub"
    serve_plain = True
    OPTIONS = {
        "devices": Option("json", "[{domain, clientId, userName, password, is_admin}, ...]"),
        "devices_file": Option("str", "a JSON file holding that list"),
        "token_ttl": Option("float", "seconds a login token stays valid (default 84600)"),
        "max_message_size": Option("int", "largest payload in bytes (default 2 MiB)"),
        "strict_token": Option("bool", "require the token in the cookie and the body"),
        "conn_limit": Option("int", "live logins per domain (default: unlimited)"),
        "broker": Option("str", "HOST:PORT of a real MQTT broker to bridge to"),
    }

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._devices: list[_Device] = []
        self._logins: dict[str, _Login] = {}
        self._states: dict[str, _ClientState] = {}
        self._retained: dict[str, tuple[bytes, int]] = {}
        self._stash: deque[dict[str, Any]] = deque(maxlen=10000)
        self._journal: list[tuple[str, dict[str, str], bytes]] = []
        self._broker: Optional[_Broker] = None
        self.token_ttl: float = DEFAULT_TTL
        self.max_message_size = DEFAULT_MAX_MESSAGE
        self.strict_token = False
        self.conn_limit: Optional[int] = None
        self._services: dict[str, Callable[[_Login, dict[str, Any], HttpRequest], HttpReply]] = {
            "/logout": self._logout,
            "/publish": self._publish,
            "/subscribe": self._subscribe,
            "/pull": self._pull,
            "/get-subscriptions": self._get_subscriptions,
            "/change-my-password": self._change_password,
            "/domain/list": self._domain_list,
            "/domain/view": self._domain_view,
            "/device/list": self._device_list,
            "/stashed/download": self._stash_download,
        }

    # -- setup -----------------------------------------------------------------------------

    def configure(self, env: Environment) -> None:
        options = env.options
        devices = options.get("devices")
        if devices is None and options.get("devices_file"):
            with open(options["devices_file"], encoding="utf-8") as handle:
                devices = json.load(handle)
        if devices is None:
            password, admin_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
            devices = [
                {
                    "domain": "sandbox",
                    "clientId": f"sandbox-device-{i}",
                    "userName": "sandbox",
                    "password": password,
                }
                for i in (1, 2)
            ]
            devices.append(
                {
                    "domain": "sandbox",
                    "clientId": "sandbox-admin",
                    "userName": "admin",
                    "password": admin_password,
                    "is_admin": True,
                }
            )
        self._devices = [
            _Device(
                d["domain"], d["clientId"], d["userName"], d["password"], bool(d.get("is_admin"))
            )
            for d in devices
        ]
        self.token_ttl = float(options.get("token_ttl", DEFAULT_TTL))
        self.max_message_size = int(options.get("max_message_size", DEFAULT_MAX_MESSAGE))
        self.strict_token = bool(options.get("strict_token", False))
        limit = options.get("conn_limit")
        self.conn_limit = int(limit) if limit is not None else None
        if options.get("broker"):
            self._broker = _Broker(str(options["broker"]), self._from_broker)

    def stop(self) -> None:
        super().stop()
        if self._broker is not None:
            self._broker.stop()
            self._broker = None

    @property
    def credentials(self) -> dict[str, str]:
        regular = [d for d in self._devices if not d.is_admin]
        admins = [d for d in self._devices if d.is_admin]
        out: dict[str, str] = {}
        if regular:
            out.update(
                client_id=regular[0].client_id,
                user_name=regular[0].user_name,
                password=regular[0].password,
            )
        if len(regular) > 1:
            out["client_id_2"] = regular[1].client_id
        if admins:
            out.update(
                admin_client_id=admins[0].client_id,
                admin_user_name=admins[0].user_name,
                admin_password=admins[0].password,
            )
        return out

    @property
    def bridged(self) -> bool:
        return self._broker is not None

    # -- test hooks ------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Make every live token invalid (as if validUntil had passed), keeping client state."""
        with self._lock:
            for login in self._logins.values():
                login.valid_until = 0.0

    @property
    def journal(self) -> list[tuple[str, dict[str, str], bytes]]:
        """``(path, headers with lower-case names, body)`` of every request, in order."""
        with self._lock:
            return list(self._journal)

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()

    def live_logins(self) -> int:
        now = time.time()
        with self._lock:
            return sum(1 for login in self._logins.values() if login.valid_until > now)

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpReply:
        with self._lock:
            self._journal.append(
                (
                    request.path,
                    {k.lower(): str(v) for k, v in request.headers.items()},
                    request.body,
                )
            )
            if len(self._journal) > 10000:
                del self._journal[:5000]
        if request.method != "POST":
            return _text(405, f"{FAILED}only POST is supported")
        body = _json_body(request)
        if request.path == "/login":
            return self._login(body)
        service = self._services.get(request.path)
        if service is None:
            return _text(404, f"{FAILED}unknown service {request.path}")
        login = self._authenticate(request, body)
        if login is None:
            return _text(400, TOKEN_ERROR)
        if request.path in _ADMIN_ONLY and not login.device.is_admin:
            return _text(400, f"{FAILED}this service needs administrator credentials")
        return service(login, body, request)

    def _authenticate(self, request: HttpRequest, body: dict[str, Any]) -> Optional[_Login]:
        cookie_token = None
        try:
            cookies = SimpleCookie(request.header("Cookie", "") or "")
            if "tokenId" in cookies:
                cookie_token = cookies["tokenId"].value
        except CookieError:
            pass
        body_token = body.get("tokenId") if isinstance(body.get("tokenId"), str) else None
        if self.strict_token and cookie_token != body_token:
            return None
        token = cookie_token or body_token
        with self._lock:
            login = self._logins.get(token or "")
            if login is None or login.valid_until <= time.time():
                return None
            return login

    # -- services --------------------------------------------------------------------------

    def _login(self, body: dict[str, Any]) -> HttpReply:
        triple = (body.get("clientId"), body.get("userName"), body.get("password"))
        device = next(
            (
                d
                for d in self._devices
                if (d.client_id, d.user_name) == triple[:2]
                and isinstance(triple[2], str)
                and secrets.compare_digest(d.password.encode(), triple[2].encode())
            ),
            None,
        )
        if device is None:
            return _text(200, DENIED)
        clean = body.get("cleanSession", True) is not False
        now = time.time()
        with self._lock:
            # One live login per clientId: a new login takes over, as in MQTT.
            for token in [
                t for t, lg in self._logins.items() if lg.device.client_id == device.client_id
            ]:
                del self._logins[token]
            live = [
                lg
                for lg in self._logins.values()
                if lg.device.domain == device.domain and lg.valid_until > now
            ]
            if self.conn_limit is not None and len(live) >= self.conn_limit:
                return _text(200, DENIED)
            state = self._states.get(device.client_id)
            if clean or state is None:
                state = _ClientState(device.client_id)
                self._states[device.client_id] = state
            token = str(uuid.uuid4())
            valid_until = now + self.token_ttl
            self._logins[token] = _Login(token, device, valid_until, state)
        return _json({"tokenId": token, "stamp": int(now), "validUntil": int(valid_until)})

    def _logout(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        with self._lock:
            self._logins.pop(login.token, None)
        return _text(200, LOGOUT_OK)

    def _publish(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        topic, qos, payload = body.get("topic"), body.get("qos", 0), body.get("payload", "")
        if not isinstance(topic, str) or topic_problem(topic):
            problem = topic_problem(topic) if isinstance(topic, str) else "topic must be a string"
            return _text(400, f"{FAILED}{problem}")
        if isinstance(qos, bool) or qos not in (0, 1, 2):
            return _text(400, f"{FAILED}qos must be 0, 1 or 2")
        if not isinstance(payload, str):
            return _text(400, f"{FAILED}payload must be a base64 string")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return _text(400, f"{FAILED}payload is not valid base64")
        if len(data) > self.max_message_size:
            return _text(
                400,
                f"{FAILED}message size limit exceeded ({len(data)} bytes, "
                f"the limit is {self.max_message_size} bytes)",
            )
        retain, dup = body.get("retain") is True, body.get("dup") is True
        self._stash.append(
            {
                "date": datetime.now(timezone.utc).isoformat(),
                "payload": data.decode("utf-8", errors="replace"),
                "clientId": login.device.client_id,
                "remoteAddr": request.client[0],
            }
        )
        if self._broker is not None:
            self._broker.publish(topic, data, qos, retain)
        else:
            with self._lock:
                if retain:
                    if data:
                        self._retained[topic] = (data, qos)
                    else:
                        self._retained.pop(topic, None)  # an empty retained message clears it
                self._route(topic, data, qos, False, dup)
        return HttpReply(200, b"", "text/plain")

    def _from_broker(self, topic: str, payload: bytes, qos: int, retain: bool, dup: bool) -> None:
        with self._lock:
            self._route(topic, payload, qos, retain, dup)

    def _route(self, topic: str, payload: bytes, qos: int, retain: bool, dup: bool) -> None:
        encoded = base64.b64encode(payload).decode()
        for state in self._states.values():
            granted = [q for f, q in state.subscriptions.items() if matches(f, topic)]
            if granted:
                state.queue.append(_pull_entry(topic, encoded, min(qos, max(granted)), retain, dup))

    def _subscribe(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        entries = body.get("subscriptions")
        if not isinstance(entries, list):
            return _text(400, f"{FAILED}subscriptions must be a list of [topic, qos] pairs")
        codes: list[int] = []
        accepted: list[str] = []
        for entry in entries:
            ok = (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], str)
                and not filter_problem(entry[0])
                and entry[1] in (0, 1, 2)
                and not isinstance(entry[1], bool)
            )
            if not ok:
                codes.append(128)  # SUBACK's failure code
                continue
            topic_filter, qos = entry[0], int(entry[1])
            with self._lock:
                login.state.subscriptions[topic_filter] = qos
            accepted.append(topic_filter)
            codes.append(qos)
        for topic_filter in accepted:
            if self._broker is not None:
                self._broker.subscribe(topic_filter)  # the broker replays retained messages
            else:
                with self._lock:
                    subscribed_qos = login.state.subscriptions[topic_filter]
                    for topic, (data, qos) in self._retained.items():
                        if matches(topic_filter, topic):
                            encoded = base64.b64encode(data).decode()
                            login.state.queue.append(
                                _pull_entry(topic, encoded, min(qos, subscribed_qos), True, False)
                            )
        return _json(codes)

    def _pull(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        with self._lock:
            messages = list(login.state.queue)
            login.state.queue.clear()
        return _json(messages)

    def _get_subscriptions(
        self, login: _Login, body: dict[str, Any], request: HttpRequest
    ) -> HttpReply:
        with self._lock:
            return _json([[f, q] for f, q in login.state.subscriptions.items()])

    def _change_password(
        self, login: _Login, body: dict[str, Any], request: HttpRequest
    ) -> HttpReply:
        new = body.get("newPassword")
        if not isinstance(new, str) or not new:
            return _text(400, f"{FAILED}newPassword is required")
        login.device.password = new
        return _text(200, "Password changed")

    def _domain_list(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        return _json(sorted({d.domain for d in self._devices}))

    def _domain_view(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        domain = body.get("domain")
        members = [d for d in self._devices if d.domain == domain]
        if not members:
            return _text(400, f"{FAILED}unknown domain")
        return _json({"name": domain, "devices": len(members), "connLimit": self.conn_limit})

    def _device_list(self, login: _Login, body: dict[str, Any], request: HttpRequest) -> HttpReply:
        domain = body.get("domainName")
        return _json(
            [
                {"clientId": d.client_id, "userName": d.user_name, "isAdmin": d.is_admin}
                for d in self._devices
                if d.domain == domain
            ]
        )

    def _stash_download(
        self, login: _Login, body: dict[str, Any], request: HttpRequest
    ) -> HttpReply:
        with self._lock:
            return _json(list(self._stash))
