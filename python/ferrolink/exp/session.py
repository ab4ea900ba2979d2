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
from typing import Any, Callable, Optional
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

__all__ = ["Session", "path_of"]

log = logging.getLogger("ferrolink.exp")


def path_of(*segments: str) -> str:
    """``/api/...`` with each segment percent-encoded on its own (``/`` included)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


class Session:
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
        if not isinstance(host, str) or not host.startswith(("http://", "https://")):
            raise UsageError(f"host must be an http:// or https:// URL, got {host!r}")
        self.host = host.rstrip("/")
        self.credentials = credentials
        self.timeout = float(timeout)
        self.http = Client(
            timeout=None,
            connect_timeout=self.timeout,
            read_timeout=None,
            ca_file=ca_file,
            verify=verify,
        )
        self._fallback_org = organization
        self._auth: Optional[dict[str, Any]] = None
        self._auth_lock = threading.RLock()  # one login/refresh at a time
        self._cond = threading.Condition()
        self._refresh_at: Optional[float] = None
        self._closed = False
        self._refresher: Optional[threading.Thread] = None
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

    def login(self) -> None:
        """Full login with the stored credentials (``AuthenticationError`` on 401)."""
        if not self.credentials.can_login:
            return
        with self._auth_lock:
            body = self.credentials.login_body()
            reply = self._raw("POST", "/api/auth/login", None, body, None)
            if reply.status == 401:
                raise AuthenticationError(
                    f"EXP rejected the {self.credentials.kind} credentials",
                    host=self.host,
                    server_message=_server_message(reply),
                )
            self._store(reply, "login")
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
            self._store(reply, "refresh")
        log.debug("token refreshed")

    def _renew(self, stale: str) -> None:
        with self._auth_lock:
            if self._auth is not None and self._auth.get("token") != stale:
                return  # another thread already renewed it
            self.refresh()

    def _store(self, reply: Response, what: str) -> None:
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
        self._schedule(auth.get("expiration"))
        for listener in list(self.token_listeners):
            try:
                listener()
            except Exception:
                log.exception("token listener failed")

    # -- refresh timer -------------------------------------------------------------------

    def _schedule(self, expiration: Any) -> None:
        if isinstance(expiration, bool) or not isinstance(expiration, (int, float)):
            return  # no expiry given: nothing to refresh ahead of
        now = time.time()
        lifetime = expiration / 1000 - now
        with self._cond:
            # Halfway to expiry, but never sooner than 0.5 s (a tiny TTL must not spin).
            self._refresh_at = now + max(lifetime / 2, 0.5)
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
        (``None`` when not JSON). A non-2xx reply raises :class:`ApiError` when its body is JSON,
        :class:`UnexpectedError` otherwise."""
        if self._closed:
            raise UsageError("this EXP instance is stopped")
        if params:
            path = f"{path}?{urlencode(_query(params), doseq=True)}"
        token = self.token
        reply = self._raw(method, path, token, payload, timeout)
        if reply.status == 401 and self.credentials.can_login:
            self._renew(token)
            reply = self._raw(method, path, self.token, payload, timeout)
        if 200 <= reply.status < 300:
            try:
                return reply.json() if reply.body else None
            except ValueError:
                return None
        if reply.status == 404 and none_on_404:
            return None
        try:
            body = reply.json()
        except ValueError:
            raise UnexpectedError(
                f"EXP answered {method} {path} with HTTP {reply.status} {reply.reason} (not JSON)",
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

    def _raw(
        self, method: str, path: str, token: Optional[str], payload: Any, timeout: Optional[float]
    ) -> Response:
        headers = [("Accept", "application/json")]
        if token is not None:
            headers.append(("Authorization", f"Bearer {token}"))
        try:
            reply = self.http.request(
                method,
                self.host + path,
                headers=headers,
                json=payload,
                timeout=timeout or self.timeout,
            )
        except TransportError as exc:
            message = mask_issued(str(exc), self._secrets())
            if isinstance(exc, ConnectError):
                error = NetworkError(f"could not connect to {self.host}: {message}", host=self.host)
                raise error from exc
            raise UnexpectedError(f"EXP {method} {path}: {message}", host=self.host) from exc
        log.debug("%s %s -> %d", method, path, reply.status)
        return reply

    def __repr__(self) -> str:
        return f"<exp.Session {self.host} {self.credentials!r}>"


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
