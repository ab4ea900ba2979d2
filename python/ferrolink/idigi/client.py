"""``push_client``: REST monitor management (``/ws/Monitor``) plus push sessions.

The reference client's API (``idigi_monitor_api``), unchanged::

    client = push_client("username", "password")
    monitor_id = client.create_monitor(["DeviceCore", "FileData"])
    client.create_session(json_cb, monitor_id)   # does not block
    ...
    client.stop_all()
    client.delete_monitor(monitor_id)

Fixed on the way: every create option is sent (and XML-escaped), any 2xx create is accepted
with the id read from the ``Location`` header or the ``<location>`` body, Basic credentials are
encoded without line breaks, HTTP 429 is retried with back-off, TLS verifies against the system
store (or ``ca_certs``) with host-name checks, and sessions reconnect instead of vanishing.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from html import escape
from typing import Any, Callable, Generic, Optional, Protocol, TypeVar, Union
from urllib.parse import urlencode

from .. import errors
from ..closing import ClosesOnExit
from ..http import Client, Response
from ..redact import mask_issued
from .session import Callback, ErrorHook, PushSession, SessionOptions, StateHook

__all__ = [
    "PUSH_OPEN_PORT",
    "PUSH_SECURE_PORT",
    "PushClient",
    "push_client",
]

log = logging.getLogger("ferrolink.idigi")

PUSH_OPEN_PORT = 3200
PUSH_SECURE_PORT = 3201

MonitorId = Union[int, str]

_LOCATION = re.compile(r"<location>\s*([^<]*?)\s*</location>", re.IGNORECASE)


def _monitor_id(value: MonitorId) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.InvalidArgumentError(f"monitor id must be an integer, got {value!r}") from None
    if not 0 <= number <= 0xFFFFFFFF:
        raise errors.InvalidArgumentError(f"monitor id {number} is outside the u32 range")
    return number


def _topics_text(topics: Union[str, Iterable[str]]) -> str:
    if isinstance(topics, str):
        return topics
    joined = ",".join(topics)
    if not joined:
        raise errors.InvalidArgumentError("topics must name at least one topic")
    return joined


def _quote_condition(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _monitor_xml(fields: Iterable[tuple[str, Any]]) -> str:
    """The ``<Monitor>`` document of a create or update: one escaped element per field."""
    return (
        "<Monitor>"
        + "".join(f"<{k}>{escape(str(v), quote=False)}</{k}>" for k, v in fields)
        + "</Monitor>"
    )


class _Pool(Protocol):
    def close(self) -> None: ...


_H = TypeVar("_H", bound=_Pool)


class MonitorsBase(ClosesOnExit, Generic[_H]):
    """What :class:`PushClient` and :class:`AsyncPushClient` share: options, credentials,
    monitor request bodies and reply handling. Only sending differs.

    ``hostname`` may carry a port (``"127.0.0.1:8443"``); ``secure`` selects HTTPS and push port
    3201, else HTTP and 3200. ``push_host`` / ``push_port`` override the push endpoint.
    ``ca_certs`` is a PEM CA file trusted on top of the system store. API-key REST auth is
    available with ``api_key_id`` / ``api_key_secret``; push sessions still need a username and
    password (the ConnectRequest has no API-key fields).
    """

    def __init__(
        self,
        username: Optional[str],
        password: Optional[str],
        hostname: str = "developer.idigi.com",
        secure: bool = True,
        ca_certs: Optional[str] = None,
        workers: int = 1,
        *,
        push_host: Optional[str] = None,
        push_port: Optional[int] = None,
        api_key_id: Optional[str] = None,
        api_key_secret: Optional[str] = None,
        timeout: float = 60.0,
        throttle_retries: int = 5,
        throttle_delay_init: float = 1.0,
        throttle_delay_max: float = 10.0,
        throttle_delay_backoff_coefficient: float = 1.5,
        **session_options: Any,
    ) -> None:
        if not (username and password is not None) and not (api_key_id and api_key_secret):
            raise errors.InvalidArgumentError(
                "give a username and password, or an api_key_id and api_key_secret"
            )
        self.username = username
        self._password = password
        self._api_key = (api_key_id, api_key_secret) if api_key_id and api_key_secret else None
        self.hostname = hostname
        self.secure = secure
        self.ca_certs = ca_certs
        self.workers = workers  # accepted for compatibility: each session has its own thread
        scheme = "https" if secure else "http"
        self.base_url = f"{scheme}://{hostname}"
        self.push_host = push_host or hostname.rsplit(":", 1)[0].strip("[]")
        self.push_port = push_port or (PUSH_SECURE_PORT if secure else PUSH_OPEN_PORT)
        self.throttle = (
            throttle_retries,
            throttle_delay_init,
            throttle_delay_max,
            throttle_delay_backoff_coefficient,
        )
        self._session_options = session_options
        self._http: _H = self._http_class(timeout=timeout, ca_file=ca_certs)
        self._sessions: list[PushSession] = []
        self._lock = threading.Lock()

    _http_class: Callable[..., _H]

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"<{name} {self.username or 'api-key'}@{self.hostname} secure={self.secure}>"

    # -- REST -------------------------------------------------------------------------------

    def _issued(self) -> tuple[str, ...]:
        """The API-key secret (issued by the service), masked wherever a reply echoes it."""
        return (self._api_key[1] or "",) if self._api_key else ()

    def _auth_headers(self) -> dict[str, str]:
        if self.username and self._password is not None:
            raw = f"{self.username}:{self._password}".encode()
            # b64encode never inserts line breaks (the reference's encodestring did).
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        assert self._api_key is not None
        return {"X-API-KEY-ID": self._api_key[0] or "", "X-API-KEY-SECRET": self._api_key[1] or ""}

    def _headers(self, body: Optional[str], accept: str) -> dict[str, str]:
        headers = self._auth_headers()
        headers["Accept"] = accept
        if body is not None:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        return headers

    def _throttle_delays(self) -> Iterator[float]:
        """The waits before each retry of a throttled (429) request."""
        retries, delay, delay_max, factor = self.throttle
        for _ in range(retries):
            yield delay
            delay = min(delay * factor, delay_max)

    def _throttled(self, method: str, path: str, response: Response, delay: float) -> bool:
        if response.status != 429:
            return False
        log.info("idigi %s %s throttled (429); retrying in %.2f s", method, path, delay)
        return True

    def _authorized(self, response: Response) -> Response:
        if response.status == 401:
            raise errors.AuthenticationError(
                f"{self.hostname} rejected the credentials (HTTP 401)",
                host=self.hostname,
                server_message=mask_issued(response.text[:200], self._issued()),
            )
        return response

    def _fail(self, what: str, response: Response) -> errors.ServiceError:
        detail = mask_issued(response.text[:300], self._issued())
        return errors.ServiceError(
            f"{what} ({response.status}): {detail}", host=self.hostname, status=response.status
        )

    @staticmethod
    def _create_body(
        topics: Union[str, Iterable[str]],
        batch_size: int,
        batch_duration: int,
        compression: str,
        format_type: str,
        ack: Optional[str],
        auto_replay: Optional[bool],
        description: Optional[str],
    ) -> str:
        if ack is not None and ack not in ("off", "explicit"):
            raise errors.InvalidArgumentError(f"ack must be 'off' or 'explicit', got {ack!r}")
        if compression not in ("none", "gzip", "zlib"):
            raise errors.InvalidArgumentError(
                f"compression must be 'none', 'gzip' or 'zlib', got {compression!r}"
            )
        if format_type not in ("json", "xml"):
            raise errors.InvalidArgumentError(
                f"format_type must be 'json' or 'xml', got {format_type!r}"
            )
        fields: list[tuple[str, Any]] = [
            ("monTopic", _topics_text(topics)),
            ("monTransportType", "tcp"),
            ("monFormatType", format_type),
            ("monBatchSize", int(batch_size)),
            ("monBatchDuration", int(batch_duration)),
            ("monCompression", compression),
        ]
        if ack is not None:
            fields.append(("monAckOption", ack))
        if auto_replay is not None:
            fields.append(("monAutoReplayOnConnect", "true" if auto_replay else "false"))
        if description is not None:
            fields.append(("monDescription", description))
        return _monitor_xml(fields)

    def _created_id(self, response: Response) -> int:
        if not response.ok:
            raise self._fail("Monitor could not be created", response)
        location = response.headers.get("Location", "")
        match = _LOCATION.search(response.text)
        source = match.group(1) if match else location
        monitor_id = source.rstrip("/").rsplit("/", 1)[-1]
        if not monitor_id.isdigit():
            raise self._fail("Monitor created but the reply names no id", response)
        return _monitor_id(monitor_id)

    @staticmethod
    def _page_path(condition: Optional[str], start: int, page_size: int) -> str:
        query: dict[str, Any] = {"start": start, "size": page_size}
        if condition:
            query["condition"] = condition
        return "/ws/Monitor?" + urlencode(query)

    def _page_items(self, response: Response) -> tuple[list[dict[str, Any]], bool]:
        """The monitors of one page, and whether more pages follow."""
        if response.status != 200:
            raise self._fail("Monitors could not be listed", response)
        page = response.json()
        items: list[dict[str, Any]] = page.get("items", [])
        return items, bool(items) and int(page.get("remainingSize", 0) or 0) > 0

    @staticmethod
    def _topic_condition(topics: Union[str, Iterable[str]]) -> tuple[str, str]:
        wanted = _topics_text(topics)
        return wanted, f"monTopic={_quote_condition(wanted)}"

    def _monitor_info(self, number: int, response: Response) -> dict[str, Any]:
        if response.status != 200:
            raise self._fail(f"Monitor {number} could not be read", response)
        items = response.json().get("items", [])
        if not items:
            raise errors.ServiceError(f"Monitor {number} not found", host=self.hostname, status=404)
        item: dict[str, Any] = items[0]
        return item

    def _push_options(self) -> SessionOptions:
        if not self.username or self._password is None:
            raise errors.AuthenticationError(
                "push sessions need a username and password: "
                "the ConnectRequest has no API-key fields",
                host=self.push_host,
            )
        return SessionOptions(
            host=self.push_host,
            port=self.push_port,
            tls=self.secure,
            ca_file=self.ca_certs,
            **self._session_options,
        )


class PushClient(MonitorsBase[Client]):
    """REST + push client for one account (see the module docstring).

    ``hostname`` may carry a port (``"127.0.0.1:8443"``); ``secure`` selects HTTPS and push port
    3201, else HTTP and 3200. ``push_host`` / ``push_port`` override the push endpoint.
    ``ca_certs`` is a PEM CA file trusted on top of the system store. API-key REST auth is
    available with ``api_key_id`` / ``api_key_secret``; push sessions still need a username and
    password (the ConnectRequest has no API-key fields).
    """

    _http_class = Client

    def close(self) -> None:
        self.stop_all()
        self._http.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Optional[str] = None,
        accept: str = "application/json",
    ) -> Response:
        headers = self._headers(body, accept)
        data = body.encode() if body is not None else None
        url = self.base_url + path
        response = self._http.request(method, url, headers=headers, body=data)
        for delay in self._throttle_delays():
            if not self._throttled(method, path, response, delay):
                break
            time.sleep(delay)
            response = self._http.request(method, url, headers=headers, body=data)
        return self._authorized(response)

    def create_monitor(
        self,
        topics: Union[str, Iterable[str]],
        batch_size: int = 1,
        batch_duration: int = 0,
        compression: str = "gzip",
        format_type: str = "json",
        *,
        ack: Optional[str] = None,
        auto_replay: Optional[bool] = None,
        description: Optional[str] = None,
    ) -> int:
        """POST a TCP monitor; returns its id. ``ack`` is ``"off"`` or ``"explicit"``."""
        body = self._create_body(
            topics,
            batch_size,
            batch_duration,
            compression,
            format_type,
            ack,
            auto_replay,
            description,
        )
        response = self._request("POST", "/ws/Monitor", body=body, accept="application/xml")
        return self._created_id(response)

    def list_monitors(
        self, condition: Optional[str] = None, page_size: int = 1000
    ) -> list[dict[str, Any]]:
        """Every monitor (legacy JSON items, values as strings), following ``remainingSize``."""
        return list(self.iter_monitors(condition, page_size))

    def iter_monitors(
        self, condition: Optional[str] = None, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        start, more = 0, True
        while more:
            response = self._request("GET", self._page_path(condition, start, page_size))
            items, more = self._page_items(response)
            yield from items
            start += len(items)

    def get_monitor(self, topics: Union[str, Iterable[str]]) -> Optional[int]:
        """The id of the first monitor whose ``monTopic`` is exactly these topics, or None."""
        wanted, condition = self._topic_condition(topics)
        for item in self.iter_monitors(condition):
            if item.get("monTopic") == wanted:
                return _monitor_id(item["monId"])
        return None

    def get_monitor_info(self, monitor_id: MonitorId) -> dict[str, Any]:
        """One monitor's fields (legacy JSON, values as strings)."""
        number = _monitor_id(monitor_id)
        return self._monitor_info(number, self._request("GET", f"/ws/Monitor/{number}"))

    def update_monitor(self, monitor_id: MonitorId, **fields: Any) -> None:
        """PUT new values (``monBatchSize=10``...); the server resets the monitor's state."""
        number = _monitor_id(monitor_id)
        response = self._request("PUT", f"/ws/Monitor/{number}", body=_monitor_xml(fields.items()))
        if not response.ok:
            raise self._fail(f"Monitor {number} could not be updated", response)

    def delete_monitor(self, monitor_id: MonitorId) -> None:
        number = _monitor_id(monitor_id)
        response = self._request("DELETE", f"/ws/Monitor/{number}")
        if not response.ok:
            raise self._fail(f"Monitor {number} could not be deleted", response)

    # -- push sessions ----------------------------------------------------------------------

    def create_session(
        self,
        callback: Callback,
        monitor_id: MonitorId,
        *,
        parsed: bool = False,
        batch: bool = False,
        ack_policy: str = "success",
        on_state: Optional[StateHook] = None,
        on_error: Optional[ErrorHook] = None,
    ) -> PushSession:
        """Open a push session for ``monitor_id``; returns at once (connecting runs behind)."""
        options = self._push_options()
        assert self.username and self._password is not None
        session = PushSession(
            callback,
            _monitor_id(monitor_id),
            self.username,
            self._password,
            options,
            parsed=parsed,
            batch=batch,
            ack_policy=ack_policy,
            on_state=on_state,
            on_error=on_error,
        )
        with self._lock:
            self._sessions.append(session)
        return session

    @property
    def sessions(self) -> list[PushSession]:
        with self._lock:
            return list(self._sessions)

    def remove_session(self, session: PushSession, timeout: float = 2.0) -> bool:
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)
        return session.stop(timeout)

    def stop_all(self, timeout: float = 2.0) -> bool:
        """Stop every session and join its threads within ``timeout``; the client stays usable."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        deadline = time.monotonic() + timeout
        ok = True
        for session in sessions:
            session._stopping.set()
        for session in sessions:
            ok = session.stop(max(deadline - time.monotonic(), 0.05)) and ok
        if not ok:
            log.warning("idigi stop_all: some session threads did not end within %.1f s", timeout)
        return ok


def push_client(username: Optional[str], password: Optional[str], **kwargs: Any) -> PushClient:
    """The reference factory: ``push_client("user", "pass", hostname=..., secure=True)``."""
    return PushClient(username, password, **kwargs)
