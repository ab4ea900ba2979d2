"""One authenticated REST session: login, timer-based refresh, and retry-once on 401.

The token is refreshed by a timer halfway to its ``expiration`` (the JS SDK's choice), so an
idle client never holds an expired token. A refresh answered 401 falls back to a full login
with the stored credentials; a REST 401 triggers one renewal and one retry. Everything goes
through :class:`ferrolink.http.Client`; tokens and secrets never reach a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import quote, urlencode

from ..errors import ConnectError, TransportError
from ..http import Client, Response
from ..redact import mask_issued
from .auth import Credentials
from .errors import (
    ApiError,
    AuthenticationError,
    ExpError,
    NetworkError,
    UnexpectedError,
    UsageError,
)

__all__ = ["Call", "Flow", "Session", "SessionState", "path_of"]

log = logging.getLogger("ferrolink.exp")


def path_of(*segments: str) -> str:
    """``/api/...`` with each segment percent-encoded on its own (``/`` included)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


@dataclass(frozen=True)
class Call:
    """One REST call, as resources and channels describe it and either session sends it.

    ``window`` is how long (s) the server holds the call open on top of the REST timeout.
    """

    method: str
    path: str
    payload: Any = None
    params: Optional[dict[str, Any]] = None
    none_on_404: bool = False
    window: float = 0.0


T = TypeVar("T")
# A REST conversation written once for both runtimes: it yields each Call, receives its
# decoded reply, and returns its result. Session.run / AsyncSession.run drive it.
Flow = Generator[Call, Any, T]


class SessionState:
    """What the sync and async sessions share: identity, the login reply, and how a call
    is built and its reply read."""

    def __init__(
        self,
        host: str,
        credentials: Credentials,
        *,
        timeout: float = 10.0,
        organization: Optional[str] = None,
    ) -> None:
        if not isinstance(host, str) or not host.startswith(("http://", "https://")):
            raise UsageError(f"host must be an http:// or https:// URL, got {host!r}")
        self.host = host.rstrip("/")
        self.credentials = credentials
        self.timeout = float(timeout)
        self._fallback_org = organization
        self._auth: Optional[dict[str, Any]] = None
        self._closed = False
        self.token_listeners: list[Callable[[], None]] = []
        if credentials.kind == "token":
            self._auth = {"token": credentials.ready_token, "identity": {}}

    # -- auth state ----------------------------------------------------------------------

    @property
    def auth(self) -> dict[str, Any]:
        """The last login reply (``token``, ``expiration``, ``identity``...)."""
        if self._auth is None:
            raise UsageError("not logged in")
        return self._auth

    @property
    def token(self) -> str:
        token: str = self.auth["token"]
        return token

    @property
    def organization(self) -> Optional[str]:
        org = self.auth.get("identity", {}).get("organization")
        return org if isinstance(org, str) else self._fallback_org

    @property
    def restricted_token(self) -> str:
        rt = self.auth.get("restrictedToken")
        return rt if isinstance(rt, str) else self.token

    def _secrets(self) -> tuple[str, ...]:
        auth = self._auth or {}
        extra = tuple(v for v in (auth.get("token"), auth.get("restrictedToken")) if v)
        return self.credentials.secrets() + extra

    def _is_stale(self, stale: str) -> bool:
        """Whether ``stale`` is still the current token (else another caller renewed it)."""
        return self._auth is None or self._auth.get("token") == stale

    def _check_login(self, reply: Response) -> None:
        if reply.status == 401:
            raise AuthenticationError(
                f"EXP rejected the {self.credentials.kind} credentials",
                host=self.host,
                server_message=_server_message(reply),
            )

    def _store(self, reply: Response, what: str) -> Optional[float]:
        """Adopt a login/refresh reply; returns when (epoch s) to refresh it, if it expires."""
        if reply.status != 200:
            raise UnexpectedError(
                f"EXP {what} failed with HTTP {reply.status} {reply.reason}", host=self.host
            )
        try:
            auth = reply.json()
        except ValueError:
            auth = None
        if not isinstance(auth, dict) or not isinstance(auth.get("token"), str):
            raise UnexpectedError(f"EXP {what} reply has no token", host=self.host)
        if not isinstance(auth.get("identity"), dict):
            auth["identity"] = {}
        self._auth = auth
        for listener in list(self.token_listeners):
            try:
                listener()
            except Exception:
                log.exception("token listener failed")
        expiration = auth.get("expiration")
        if isinstance(expiration, bool) or not isinstance(expiration, (int, float)):
            return None  # no expiry given: nothing to refresh ahead of
        now = time.time()
        # Halfway to expiry, but never sooner than 0.5 s (a tiny TTL must not spin).
        return now + max((expiration / 1000 - now) / 2, 0.5)

    # -- REST ----------------------------------------------------------------------------

    def _target(self, call: Call) -> str:
        if self._closed:
            raise UsageError("this EXP instance is stopped")
        if call.params:
            return f"{call.path}?{urlencode(_query(call.params), doseq=True)}"
        return call.path

    @staticmethod
    def _headers(token: Optional[str]) -> list[tuple[str, str]]:
        headers = [("Accept", "application/json")]
        if token is not None:
            headers.append(("Authorization", f"Bearer {token}"))
        return headers

    def _transport_error(self, method: str, path: str, exc: TransportError) -> ExpError:
        """``NetworkError`` when the host could not be reached, else ``UnexpectedError``."""
        message = mask_issued(str(exc), self._secrets())
        if isinstance(exc, ConnectError):
            return NetworkError(f"could not connect to {self.host}: {message}", host=self.host)
        return UnexpectedError(f"EXP {method} {path}: {message}", host=self.host)

    def _retries(self, reply: Response) -> bool:
        """A REST 401 renews the token once and retries once."""
        return reply.status == 401 and self.credentials.can_login

    def _value(self, call: Call, path: str, reply: Response) -> Any:
        """The decoded reply (``None`` when not JSON), or the error it stands for."""
        if 200 <= reply.status < 300:
            try:
                return reply.json() if reply.body else None
            except ValueError:
                return None
        if reply.status == 404 and call.none_on_404:
            return None
        try:
            body = reply.json()
        except ValueError:
            raise UnexpectedError(
                f"EXP answered {call.method} {path} with HTTP {reply.status} {reply.reason} "
                "(not JSON)",
                host=self.host,
            ) from None
        if isinstance(body, dict):
            code, message = body.get("code"), body.get("message")
            raise ApiError(
                code if isinstance(code, str) else None,
                message if isinstance(message, str) else None,
                reply.status,
                body,
                host=self.host,
            )
        raise ApiError(None, None, reply.status, body, host=self.host)

    def __repr__(self) -> str:
        return f"<exp.{type(self).__name__} {self.host} {self.credentials!r}>"


class Session(SessionState):
    """REST access for one identity. Thread-safe; :meth:`close` stops the refresh timer."""

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
        self.http = Client(
            timeout=None,
            connect_timeout=self.timeout,
            read_timeout=None,
            ca_file=ca_file,
            verify=verify,
        )
        self._auth_lock = threading.RLock()  # one login/refresh at a time
        self._cond = threading.Condition()
        self._refresh_at: Optional[float] = None
        self._refresher: Optional[threading.Thread] = None

    def login(self) -> None:
        """Full login with the stored credentials (``AuthenticationError`` on 401)."""
        if not self.credentials.can_login:
            return
        with self._auth_lock:
            body = self.credentials.login_body()
            reply = self._raw("POST", "/api/auth/login", None, body, None)
            self._check_login(reply)
            self._schedule(self._store(reply, "login"))
        log.info("logged in to %s as %s", self.host, self.credentials.kind)

    def refresh(self) -> None:
        """``POST /api/auth/token``; a 401 there means a full login."""
        if not self.credentials.can_login:
            return
        with self._auth_lock:
            reply = self._raw("POST", "/api/auth/token", self.token, None, None)
            if reply.status == 401:
                log.info("token refresh refused; logging in again")
                self.login()
                return
            self._schedule(self._store(reply, "refresh"))
        log.debug("token refreshed")

    def renew(self, stale: str) -> None:
        """Refresh the token ``stale`` unless another thread already has."""
        with self._auth_lock:
            if self._is_stale(stale):
                self.refresh()

    # -- refresh timer -------------------------------------------------------------------

    def _schedule(self, refresh_at: Optional[float]) -> None:
        if refresh_at is None:
            return
        with self._cond:
            self._refresh_at = refresh_at
            self._cond.notify_all()
            if self._refresher is None and not self._closed:
                self._refresher = threading.Thread(
                    target=self._refresh_loop, name="ferrolink-exp-refresh", daemon=True
                )
                self._refresher.start()

    def _refresh_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (
                    self._refresh_at is None or time.time() < self._refresh_at
                ):
                    wait = None if self._refresh_at is None else self._refresh_at - time.time()
                    self._cond.wait(wait)
                if self._closed:
                    return
                self._refresh_at = None
            try:
                self.refresh()
            except AuthenticationError as exc:
                log.error("token refresh: credentials rejected (%s); giving up", exc)
            except ExpError as exc:
                log.warning("token refresh failed (%s); retrying in 2 s", exc)
                with self._cond:
                    self._refresh_at = time.time() + 2.0

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._refresher
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.timeout + 1)
        self.http.close()

    # -- REST ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[dict[str, Any]] = None,
        payload: Any = None,
        timeout: Optional[float] = None,
        none_on_404: bool = False,
    ) -> Any:
        """Send one call (``payload``: the JSON body, ``None`` for none); decode the JSON reply
        (``None`` when not JSON). A non-2xx reply raises
        :class:`ApiError` when its body is JSON, :class:`UnexpectedError` otherwise."""
        call = Call(method, path, payload, params, none_on_404)
        return self.call(call, timeout)

    def call(self, call: Call, timeout: Optional[float] = None) -> Any:
        """Send ``call`` and return its decoded reply."""
        path = self._target(call)
        timeout = (timeout or self.timeout) + call.window
        token = self.token
        reply = self._raw(call.method, path, token, call.payload, timeout)
        if self._retries(reply):
            self.renew(token)
            reply = self._raw(call.method, path, self.token, call.payload, timeout)
        return self._value(call, path, reply)

    def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result, sending each of its calls in turn."""
        try:
            call = next(flow)
            while True:
                call = flow.send(self.call(call))
        except StopIteration as done:
            result: T = done.value
            return result

    def _raw(
        self, method: str, path: str, token: Optional[str], payload: Any, timeout: Optional[float]
    ) -> Response:
        try:
            reply = self.http.request(
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


def _server_message(reply: Response) -> Optional[str]:
    try:
        body = reply.json()
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


def _query(params: dict[str, Any]) -> dict[str, Any]:
    """Query values as EXP expects: booleans lower-case, ``None`` dropped."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out
