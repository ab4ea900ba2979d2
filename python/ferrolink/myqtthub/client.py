"""The MyQttHub REST client: log in as a device, publish, subscribe and pull.

Every call is a ``POST`` with a JSON body over one pooled keep-alive HTTPS connection. The
token travels both as ``Cookie: tokenId=...`` and as ``"tokenId"`` in the body. The client
logs in again by itself shortly before ``validUntil`` and when the server rejects the token
(then restores its subscriptions and retries the call once). Publish bodies are built in
Rust with the base64 encoding fused in; pulled payloads are decoded there too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, Generic, Optional, Protocol, TypeVar, Union

from .. import _core
from ..closing import ClosesOnExit
from ..errors import FerrolinkError, InvalidArgumentError, ProtocolError
from ..http import Client as HttpClient
from ..redact import MASK, mask_issued
from .errors import AuthenticationError, MyQttHubError, PublishError
from .topics import filter_problem, topic_problem

__all__ = ["DEFAULT_HOST", "Client", "Payload", "Session"]

log = logging.getLogger("ferrolink.myqtthub")

DEFAULT_HOST = "node02.myqtthub.com"
# Texts the service answers with (docs/protocols/myqtthub.md): a 200 "Service denied ..."
# login failure and the 400 reply for a missing or expired token.
DENIED_MARKERS = ("Service denied", "auth login failure", "wrong password")
TOKEN_REJECTED = "Token not valid, expired or login session needed"

Payload = Union[bytes, bytearray, memoryview, str]
Message = Union[Sequence[Any], Mapping[str, Any]]


def _payload_bytes(value: Any, name: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(
        f"{name} must be bytes, bytearray, memoryview or str, got {type(value).__name__}"
    )


def _qos(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (0, 1 or 2), got {type(value).__name__}")
    if value not in (0, 1, 2):
        raise InvalidArgumentError(f"{name} must be 0, 1 or 2, got {value}")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


def _topic(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    problem = topic_problem(value)
    if problem:
        raise InvalidArgumentError(f"{name} {value!r}: {problem}")
    return value


def _parse(body: bytes) -> Any:
    """Replies mix JSON and plain text: JSON when it parses, else the text."""
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json can parse
        return text


_H = TypeVar("_H", bound="_Pool")


class _Pool(Protocol):
    def close(self) -> None: ...


class Session(ClosesOnExit, Generic[_H]):
    """What :class:`Client` and :class:`AsyncClient` share: options, argument checks, the
    login state, request bodies and reply handling. ``_H`` is the HTTP client type.
    """

    def __init__(
        self,
        client_id: str,
        user_name: str,
        password: str,
        host: str = DEFAULT_HOST,
        port: Union[int, str] = 443,
        clean_session: bool = True,
        ca_file: Union[str, os.PathLike[str], None] = None,
        *,
        base_url: Optional[str] = None,
        verify: bool = True,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        relogin_margin: float = 60.0,
        http: Optional[_H] = None,
    ) -> None:
        for name, value in (
            ("client_id", client_id),
            ("user_name", user_name),
            ("password", password),
        ):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        self.client_id = client_id
        self.user_name = user_name
        self._password = password
        self.clean_session = _flag(clean_session, "clean_session")
        if base_url is None:
            port_number = int(port)
            base_url = f"https://{host or DEFAULT_HOST}" + (
                "" if port_number == 443 else f":{port_number}"
            )
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.relogin_margin = relogin_margin
        self._owns_http = http is None
        self._http: _H = (
            http
            if http is not None
            else self._http_class(
                timeout=timeout,
                connect_timeout=connect_timeout,
                read_timeout=timeout,
                ca_file=ca_file,
                verify=verify,
            )
        )
        self._lock = threading.RLock()
        self._token: Optional[str] = None
        self.stamp: Optional[int] = None
        self.valid_until: Optional[float] = None
        self._lifetime = 0.0
        self._subscriptions: dict[str, int] = {}
        self.login_count = 0
        self._headers_of: Optional[tuple[str, list[tuple[str, str]]]] = None

    # -- session -----------------------------------------------------------------------------

    @property
    def token_id(self) -> Optional[str]:
        """The current token (None when logged out). Treat it as a secret."""
        return self._token

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    _http_class: Callable[..., _H]

    def _login_body(self) -> bytes:
        params = {
            "clientId": self.client_id,
            "userName": self.user_name,
            "password": self._password,
            "cleanSession": self.clean_session,
        }
        return json.dumps(params).encode()

    def _logged_in(self, status: int, reason: str, body: bytes) -> dict[str, Any]:
        """Store the token of a ``/login`` reply and return its data; raise if refused."""
        text = body.decode("utf-8", errors="replace")
        if status != 200 or any(marker in text for marker in DENIED_MARKERS):
            raise AuthenticationError(
                f"login of {self.client_id!r} refused: {status} {reason}: {self._redact(text)}",
                host=self.base_url,
                status=status,
                reason=reason,
                body=self._redact(text),
            )
        data = _parse(body)
        if not isinstance(data, dict) or not isinstance(data.get("tokenId"), str):
            raise ProtocolError(
                f"login reply is not {{tokenId, stamp, validUntil}}: {self._redact(text)[:200]}",
                host=self.base_url,
            )
        self._token = data["tokenId"]
        self.stamp = data.get("stamp")
        valid_until = data.get("validUntil")
        self.valid_until = float(valid_until) if isinstance(valid_until, (int, float)) else None
        stamp = self.stamp if isinstance(self.stamp, (int, float)) else time.time()
        self._lifetime = max((self.valid_until or stamp) - stamp, 0.0)
        self.login_count += 1
        log.debug("logged in as %s (valid until %s)", self.client_id, self.valid_until)
        return dict(data)

    def _logged_out(self, status: int, reason: str, body: bytes) -> str:
        text = body.decode("utf-8", errors="replace")
        if status == 400 and TOKEN_REJECTED in text:
            log.debug("logout: the token had already expired")
            return text
        if status != 200:
            raise self._error("/logout", status, reason, text)
        return text

    def _expiring(self, token: Optional[str]) -> bool:
        """Whether ``token`` is about to expire and should be renewed before use."""
        if token is None or self.valid_until is None:
            return False
        # Short-lived tokens (tests) get half their lifetime as margin, not a minute.
        margin = min(self.relogin_margin, self._lifetime / 2)
        if time.time() >= self.valid_until - margin:
            log.debug("token of %s is about to expire: logging in again", self.client_id)
            return True
        return False

    def _resubscribe_body(self) -> Optional[bytes]:
        """The ``/subscribe`` body restoring every subscription after a new login, if any."""
        if not self._subscriptions or self._token is None:
            return None
        pairs = [[f, q] for f, q in self._subscriptions.items()]
        return self._body({"subscriptions": pairs}, self._token)

    @staticmethod
    def _subscription_pairs(subscriptions: Iterable[tuple[str, int]]) -> list[list[Any]]:
        if isinstance(subscriptions, (str, bytes)):
            raise TypeError("subscriptions must be a list of (topic_filter, qos) pairs, got str")
        pairs: list[list[Any]] = []
        for index, entry in enumerate(subscriptions):
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise TypeError(f"subscriptions[{index}] must be a (topic_filter, qos) pair")
            topic_filter, qos = entry
            if not isinstance(topic_filter, str):
                raise TypeError(f"subscriptions[{index}] topic filter must be a str")
            problem = filter_problem(topic_filter)
            if problem:
                raise InvalidArgumentError(f"subscriptions[{index}] {topic_filter!r}: {problem}")
            pairs.append([topic_filter, _qos(qos, f"subscriptions[{index}] qos")])
        if not pairs:
            raise InvalidArgumentError("subscriptions is empty")
        return pairs

    def _publish_body(
        self, topic: str, payload: Payload, qos: int, retain: bool, dup: bool
    ) -> Callable[[str], bytes]:
        """Check a message; the function building its ``/publish`` body for a token."""
        topic = _topic(topic, "topic")
        data = _payload_bytes(payload, "payload")
        qos, retain, dup = _qos(qos, "qos"), _flag(retain, "retain"), _flag(dup, "dup")
        return lambda token: _core.myqtthub_publish_body(token, topic, data, qos, retain, dup)

    def _batch(self, messages: Iterable[Message]) -> list[tuple[str, bytes, int, bool, bool]]:
        return [self._message(i, m) for i, m in enumerate(messages)]

    def _pulled(self, body: bytes) -> list[dict[str, Any]]:
        try:
            messages: list[dict[str, Any]] = _core.myqtthub_decode_pull(body)
        except ProtocolError as exc:
            raise ProtocolError(f"/pull: {exc}", host=self.base_url) from exc
        return messages

    @staticmethod
    def _password_body(new_password: str) -> dict[str, Any]:
        if not isinstance(new_password, str) or not new_password:
            raise InvalidArgumentError("new_password must be a non-empty str")
        return {"newPassword": new_password}

    @staticmethod
    def _stash_params(
        domain_name: str, stash_name: str, download_as: str, download_frame: str
    ) -> dict[str, Any]:
        return {
            "domainName": domain_name,
            "stashName": stash_name,
            "downloadAs": download_as,
            "downloadFrame": download_frame,
        }

    @staticmethod
    def _checked_path(path: str) -> str:
        if not path.startswith("/"):
            raise InvalidArgumentError(f"path must start with '/', got {path!r}")
        return path

    def _publish_failed(self, sent: int, exc: MyQttHubError) -> PublishError:
        return PublishError(
            f"message {sent} of the batch failed ({sent} published): {exc}",
            published=sent,
            cause=exc,
        )

    def _rejected_again(self, path: str, exc: _TokenRejected) -> AuthenticationError:
        return AuthenticationError(
            f"{path}: the token was rejected again after logging in: {exc.text}",
            host=self.base_url,
            status=400,
            reason=exc.reason,
            body=exc.text,
        )

    @staticmethod
    def _post_headers(cookie: Optional[str]) -> list[tuple[str, str]]:
        """The headers of a POST; the list for the current token is made once (see
        :meth:`_token_headers`) and never changed after."""
        headers = [("Content-Type", "application/json")]
        if cookie is not None:
            headers.append(("Cookie", f"tokenId={cookie}"))
        return headers

    def _token_headers(self, token: str) -> list[tuple[str, str]]:
        cached = self._headers_of
        if cached is None or cached[0] != token:
            cached = self._headers_of = (token, self._post_headers(token))
        return cached[1]

    def _checked(self, path: str, status: int, reason: str, reply: bytes) -> bytes:
        """The body of a 200 reply; raises _TokenRejected or the service error otherwise."""
        if status == 200:
            return reply
        text = reply.decode("utf-8", errors="replace")
        if status == 400 and TOKEN_REJECTED in text:
            raise _TokenRejected(reason, text)
        raise self._error(path, status, reason, text)

    def _sent(self, path: str, status: int) -> None:
        if path == "/logout" and status == 200:  # a /logout sent through send() ends the session
            with self._lock:
                self._token = None

    def _close_pool(self) -> None:
        if self._owns_http:
            self._http.close()

    @staticmethod
    def _message(index: int, message: Any) -> tuple[str, bytes, int, bool, bool]:
        where = f"messages[{index}]"
        if isinstance(message, Mapping):
            fields = [
                message.get(k, d)
                for k, d in (
                    ("topic", None),
                    ("payload", None),
                    ("qos", 0),
                    ("retain", False),
                    ("dup", False),
                )
            ]
        elif isinstance(message, (tuple, list)) and 2 <= len(message) <= 5:
            fields = [*message, *(0, False, False)[len(message) - 2 :]]
        else:
            raise TypeError(
                f"{where} must be (topic, payload[, qos[, retain[, dup]]]) or a dict, "
                f"got {type(message).__name__}"
            )
        return (
            _topic(fields[0], f"{where}.topic"),
            _payload_bytes(fields[1], f"{where}.payload"),
            _qos(fields[2], f"{where}.qos"),
            _flag(fields[3], f"{where}.retain"),
            _flag(fields[4], f"{where}.dup"),
        )

    @staticmethod
    def _body(params: Mapping[str, Any], token: str) -> bytes:
        return json.dumps({"tokenId": token, **params}).encode()

    def _error(self, path: str, status: int, reason: str, text: str) -> MyQttHubError:
        text = self._redact(text)
        return MyQttHubError(
            f"{path} failed: {status} {reason}: {text[:500]}",
            host=self.base_url,
            status=status,
            reason=reason,
            body=text,
        )

    def _redact(self, text: str) -> str:
        return mask_issued(text, (self._token,))

    def __repr__(self) -> str:
        state = "logged in" if self._token else "logged out"
        return (
            f"<ferrolink.myqtthub.{type(self).__name__} client_id={self.client_id!r} "
            f"user_name={self.user_name!r} password={MASK!r} {self.base_url} {state}>"
        )


class Client(Session[HttpClient]):
    """A MyQttHub device session over the REST API.

    ``Client(client_id, user_name, password)`` talks to ``https://node02.myqtthub.com``;
    ``host``/``port`` or ``base_url`` (e.g. the sandbox's ``http://127.0.0.1:PORT``) point it
    elsewhere. TLS is verified (``ca_file`` adds a CA); ``verify=False`` is the explicit
    opt-out. ``timeout`` bounds every call, ``connect_timeout`` the connection set-up.
    Use it as a context manager: it logs in on enter and out on exit.
    """

    _http_class = HttpClient

    # -- session -----------------------------------------------------------------------------

    def login(self) -> dict[str, Any]:
        """``/login``; stores and returns ``{tokenId, stamp, validUntil}``.

        Raises :class:`AuthenticationError` with the server's text when it says no (the
        service answers a refused login with 200 and a plain-text "Service denied ...").
        """
        status, reason, body = self._post("/login", self._login_body(), cookie=None)
        with self._lock:
            return self._logged_in(status, reason, body)

    def logout(self) -> Optional[str]:
        """``/logout``: frees the login slot. Returns the server's text (None if logged out)."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return None
        return self._logged_out(*self._post("/logout", self._body({}, token), cookie=token))

    def close(self) -> None:
        """Log out (best effort) and close the connection pool."""
        try:
            if self._token is not None:
                self.logout()
        except FerrolinkError as exc:
            log.warning("logout while closing failed: %s", exc)
        finally:
            self._close_pool()

    def __enter__(self) -> Client:
        if self._token is None:
            self.login()
        return self

    # -- messages ----------------------------------------------------------------------------

    def publish(
        self, topic: str, payload: Payload, qos: int = 0, retain: bool = False, dup: bool = False
    ) -> None:
        """Publish ``payload`` (bytes, or str as UTF-8) to ``topic``; retain/dup as given."""
        self._call("/publish", self._publish_body(topic, payload, qos, retain, dup))

    def publish_many(self, messages: Iterable[Message]) -> int:
        """Publish a batch: ``(topic, payload[, qos[, retain[, dup]]])`` tuples or dicts with
        those keys. Every body is built in Rust in one call; they are sent in order. Returns
        the number published; a failure raises :class:`PublishError` with ``published``.
        """
        batch = self._batch(messages)
        sent = 0
        while sent < len(batch):
            token = self._valid_token()
            bodies = _core.myqtthub_publish_bodies(token, batch[sent:])
            for body in bodies:
                try:
                    self._send("/publish", body, token)
                except _TokenRejected:
                    self._relogin(token)
                    break  # rebuild the remaining bodies with the new token
                except MyQttHubError as exc:
                    raise self._publish_failed(sent, exc) from exc
                sent += 1
        return sent

    def subscribe(self, subscriptions: Iterable[tuple[str, int]]) -> Any:
        """``/subscribe`` to ``[(topic_filter, qos), ...]``; returns the server's per-entry
        reply (the granted QoS per filter). Filters are checked before sending."""
        pairs = self._subscription_pairs(subscriptions)
        reply = self._call_json("/subscribe", {"subscriptions": pairs})
        with self._lock:
            for topic_filter, qos in pairs:
                self._subscriptions[topic_filter] = qos
        return reply

    def get_subscriptions(self) -> Any:
        """``/get-subscriptions``: the server's reply, as JSON when it is JSON."""
        return self._call_json("/get-subscriptions", {})

    def pull(self, wait: float = 0.0, interval: float = 0.5) -> list[dict[str, Any]]:
        """``/pull``: the queued messages (dicts with ``topic``, ``payload`` as bytes, ``qos``
        and every other member the server sent); ``[]`` when there are none.

        ``wait`` > 0 polls every ``interval`` seconds until a message arrives or ``wait``
        seconds have passed.
        """
        deadline = time.monotonic() + wait
        while True:
            messages = self._pulled(self._call("/pull", lambda token: self._body({}, token)))
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(max(0.0, min(interval, deadline - time.monotonic())))

    def messages(self, interval: float = 1.0) -> Iterator[dict[str, Any]]:
        """Every message as it arrives (polls ``/pull`` every ``interval`` seconds), forever."""
        while True:
            yield from self.pull(wait=interval, interval=min(interval, 0.5))

    # -- admin and other services -----------------------------------------------------------

    def change_password(self, new_password: str) -> Any:
        reply = self._call_json("/change-my-password", self._password_body(new_password))
        self._password = new_password
        return reply

    def domain_list(self) -> Any:
        return self._call_json("/domain/list", {})

    def domain_view(self, domain: str) -> Any:
        return self._call_json("/domain/view", {"domain": domain})

    def device_list(self, domain_name: str) -> Any:
        return self._call_json("/device/list", {"domainName": domain_name})

    def stash_download(
        self,
        domain_name: str,
        stash_name: str,
        download_as: str = "json",
        download_frame: str = "1h",
    ) -> Any:
        params = self._stash_params(domain_name, stash_name, download_as, download_frame)
        return self._call_json("/stashed/download", params)

    def request(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """Any other service: ``POST path`` with ``params`` (+ the token); JSON or text back."""
        return self._call_json(self._checked_path(path), dict(params or {}))

    # -- plumbing ----------------------------------------------------------------------------

    def _call_json(self, path: str, params: dict[str, Any]) -> Any:
        return _parse(self._call(path, lambda token: self._body(params, token)))

    def _valid_token(self) -> str:
        """The token, logging in first when there is none or it is about to expire."""
        token = self._token
        if token is not None and not self._expiring(token):
            return token  # every call's case: no lock needed to read one attribute
        with self._lock:
            token = self._token
            if self._expiring(token):
                assert token is not None
                self._relogin(token)
                token = self._token
            if token is None:
                self.login()
                token = self._token
            assert token is not None
            return token

    def _relogin(self, stale: str) -> None:
        """Log in again (unless another thread already did) and restore the subscriptions."""
        with self._lock:
            if self._token not in (stale, None):
                return
            self._token = None
            self.login()
            body = self._resubscribe_body()
            if body is not None:
                assert self._token is not None
                self._send("/subscribe", body, self._token)

    def _call(self, path: str, build: Callable[[str], bytes]) -> bytes:
        """Send an authenticated call; on a rejected token log in again and retry once."""
        token = self._valid_token()
        try:
            return self._send(path, build(token), token)
        except _TokenRejected:
            log.info("%s: the server rejected the token; logging in again", path)
            self._relogin(token)
            token = self._valid_token()
        try:
            return self._send(path, build(token), token)
        except _TokenRejected as exc:
            raise self._rejected_again(path, exc) from None

    def _send(self, path: str, body: bytes, token: str) -> bytes:
        status, reason, _headers, reply = self.send("POST", path, body, self._token_headers(token))
        return self._checked(path, status, reason, reply)

    def _post(self, path: str, body: bytes, cookie: Optional[str]) -> tuple[int, str, bytes]:
        status, reason, _headers, reply = self.send("POST", path, body, self._post_headers(cookie))
        return status, reason, reply

    def send(
        self, method: str, path: str, body: Optional[bytes], headers: list[tuple[str, str]]
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """One request exactly as given (no token added) on this session's connection pool:
        ``(status, reason, headers, body)``. What ``session['conn'].request()`` sends; a
        ``/logout`` it sends that succeeds ends this session too."""
        status, reason, reply_headers, reply, _url = self._http._send(
            method, self.base_url + path, headers, body, self.timeout
        )
        self._sent(path, status)
        return status, reason, reply_headers, reply


class _TokenRejected(Exception):
    """Internal: the server answered the documented 400 token error."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text
