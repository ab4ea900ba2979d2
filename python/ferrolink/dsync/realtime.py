"""The realtime API: push record changes to DSYNC (create = POST, update = PUT, delete = DELETE).

One URL; the HTTP method selects the operation. Every call carries ``Auth-Token`` and
``Entity-Token``; delete adds ``Entity-Id``. Unlike the original SDK this sends exactly what
was asked (PUT with the body for update, ``{}`` as ``{}``, id ``0`` as ``0``), refuses to
send without the tokens, treats every 2xx as success, returns the decoded reply and raises a
readable :class:`RealtimeRequestException` otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from typing import Any, Callable, Generic, Optional, Protocol, TypeVar, Union

from ..closing import ClosesOnExit
from ..errors import FerrolinkError, InvalidArgumentError, ServiceError
from ..http import Client, Response
from ..redact import MASK, mask_issued

__all__ = [
    "DEFAULT_ENDPOINT",
    "GENERIC_MESSAGE",
    "InvalidRealtimeRequest",
    "RealtimeBase",
    "RealtimeRequest",
    "RealtimeRequestException",
]

log = logging.getLogger("ferrolink.dsync")

DEFAULT_ENDPOINT = "https://api.dsync.com/api/realtime"
REALTIME_PATH = "/api/realtime"
GENERIC_MESSAGE = "There was an error making this realtime request."
# Statuses that say "try again later"; only idempotent methods are ever repeated.
RETRY_STATUSES = frozenset({429, 503})
RETRY_METHODS = frozenset({"PUT", "DELETE"})
MAX_RETRY_DELAY = 30.0


class RealtimeRequestException(ServiceError):
    """A realtime request failed.

    ``status_code`` is the HTTP status (None when no reply came: the transport error is the
    ``__cause__``), ``message`` the server's ``message`` (else a generic text) and ``body``
    the decoded reply. ``str()`` is ``"<status>: <message>"``.
    """

    def __init__(
        self,
        message: str = GENERIC_MESSAGE,
        *,
        status_code: Optional[int] = None,
        body: Any = None,
        host: Optional[str] = None,
    ) -> None:
        super().__init__(message, host=host, status=status_code)
        self.message = message
        self.body = body

    @property
    def status_code(self) -> Optional[int]:
        return self.status

    def __str__(self) -> str:
        return self.message if self.status is None else f"{self.status}: {self.message}"


class InvalidRealtimeRequest(RealtimeRequestException, InvalidArgumentError):
    """The request was refused before sending (missing token or id, data not a dict)."""


def _missing(value: Any) -> bool:
    # Only None and '' are missing: 0 is a valid entity id.
    return value is None or value == ""


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidRealtimeRequest(f"{name} must be a str or int, got {type(value).__name__}")
    text = str(value)
    if not text.isprintable() or not text.isascii():
        raise InvalidRealtimeRequest(f"{name} must be printable ASCII (it travels in a header)")
    return text


_R = TypeVar("_R", bound="RealtimeBase[Any]")


class _Pool(Protocol):
    def close(self) -> None: ...


_T = TypeVar("_T", bound=_Pool)


class RealtimeBase(ClosesOnExit, Generic[_T]):
    """What :class:`RealtimeRequest` and :class:`AsyncRealtimeRequest` share: options,
    validation, headers, retry rules and reply decoding. ``_T`` is the HTTP client type.
    """

    def __init__(
        self,
        auth_token: Optional[str] = None,
        entity_token: Optional[str] = None,
        realtime_endpoint: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        timeout: float = 30.0,
        retries: int = 0,
        backoff: float = 0.2,
        ca_file: Union[str, os.PathLike[str], None] = None,
        verify: bool = True,
        client: Optional[_T] = None,
    ) -> None:
        if realtime_endpoint is not None and base_url is not None:
            raise InvalidArgumentError("pass realtime_endpoint or base_url, not both")
        if base_url is not None:
            realtime_endpoint = base_url.rstrip("/") + REALTIME_PATH
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidArgumentError(f"retries must be an int >= 0, got {retries!r}")
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
            raise InvalidArgumentError(f"backoff must be a number >= 0, got {backoff!r}")
        self.auth_token = auth_token
        self.entity_token = entity_token
        self.realtime_endpoint = realtime_endpoint or DEFAULT_ENDPOINT
        self.timeout = timeout
        self.retries = retries
        self.backoff = float(backoff)
        self._owns_client = client is None
        self._client: _T = (
            client
            if client is not None
            else self._client_class(
                timeout=timeout, read_timeout=timeout, ca_file=ca_file, verify=verify
            )
        )

    _client_class: Callable[..., _T]

    # -- PHP-SDK style setters, for code ported from it ------------------------------------

    def set_auth_token(self: _R, auth_token: str) -> _R:
        self.auth_token = auth_token
        return self

    def set_entity_token(self: _R, entity_token: str) -> _R:
        self.entity_token = entity_token
        return self

    def set_realtime_url(self: _R, url: str) -> _R:
        self.realtime_endpoint = url
        return self

    # -- plumbing -------------------------------------------------------------------------

    @staticmethod
    def _body(operation: str, data: Any) -> bytes:
        if not isinstance(data, Mapping):
            raise InvalidRealtimeRequest(
                f"{operation}() needs the record as a dict, got {type(data).__name__}"
            )
        try:
            return json.dumps(data, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidRealtimeRequest(
                f"{operation}() data is not JSON-serialisable: {exc}"
            ) from exc

    def _headers(self, entity_id: Optional[str]) -> list[tuple[str, str]]:
        if _missing(self.auth_token):
            raise InvalidRealtimeRequest("an auth token is required (Auth-Token header)")
        if _missing(self.entity_token):
            raise InvalidRealtimeRequest("an entity token is required (Entity-Token header)")
        headers = [
            ("Content-Type", "application/json"),
            ("Auth-Token", _header_value("auth_token", self.auth_token)),
            ("Entity-Token", _header_value("entity_token", self.entity_token)),
        ]
        if entity_id is not None:
            headers.append(("Entity-Id", entity_id))
        return headers

    @staticmethod
    def _delete_id(entity_id: Union[str, int]) -> str:
        if _missing(entity_id):
            raise InvalidRealtimeRequest("an entity id is required to delete a record")
        return _header_value("entity_id", entity_id)

    def _attempts(self, method: str) -> int:
        return 1 + (self.retries if method in RETRY_METHODS else 0)

    def _transport_failure(self, exc: FerrolinkError) -> RealtimeRequestException:
        return RealtimeRequestException(self._redact(str(exc)), host=getattr(exc, "host", None))

    def _retry_after(
        self, method: str, reply: Response, attempt: int, started: float
    ) -> Optional[float]:
        """Log the attempt; the delay before the next one, or None when ``reply`` is final."""
        log.debug(
            "%s %s -> %d (%.1f ms, attempt %d)",
            method,
            self.realtime_endpoint,
            reply.status,
            (time.perf_counter() - started) * 1000,
            attempt + 1,
        )
        if reply.status in RETRY_STATUSES and attempt + 1 < self._attempts(method):
            return self._retry_delay(reply, attempt)
        return None

    def _retry_delay(self, reply: Response, attempt: int) -> float:
        retry_after = reply.headers.get("retry-after", "")
        try:
            delay = float(retry_after)
        except ValueError:
            delay = self.backoff * (2**attempt)
        return min(max(delay, 0.0), MAX_RETRY_DELAY)

    def _result(self, reply: Response) -> Any:
        body = _decode(reply)
        if reply.ok:
            return body
        message = GENERIC_MESSAGE
        if isinstance(body, Mapping) and isinstance(body.get("message"), str) and body["message"]:
            message = self._redact(body["message"])
        raise RealtimeRequestException(message, status_code=reply.status, body=body)

    def _redact(self, text: str) -> str:
        return mask_issued(text, (self.auth_token,))

    def close(self) -> None:
        """Close the connection pool (only when this instance created it)."""
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        auth = MASK if self.auth_token else None
        entity = MASK if self.entity_token else None
        return (
            f"{type(self).__name__}(auth_token={auth!r}, entity_token={entity!r}, "
            f"realtime_endpoint={self.realtime_endpoint!r})"
        )


class RealtimeRequest(RealtimeBase[Client]):
    """Realtime requests for one entity: ``RealtimeRequest(auth_token, entity_token)``.

    ``realtime_endpoint`` is the full URL (default :data:`DEFAULT_ENDPOINT`, no path is
    appended); alternatively ``base_url`` is the API root and ``/api/realtime`` is appended.
    ``timeout`` bounds each attempt (seconds). ``retries`` (default 0) repeats PUT and DELETE
    (never POST) answered with 429 or 503, after ``backoff * 2**n`` seconds or the server's
    ``Retry-After``. ``ca_file``/``verify`` set TLS trust; ``client`` shares a
    :class:`ferrolink.http.Client` (otherwise each instance owns one, with its own pool).
    """

    _client_class = Client

    def create(self, data: Mapping[str, Any]) -> Any:
        """``POST`` the record; returns the decoded reply (None for an empty body)."""
        return self._send("POST", self._body("create", data))

    def update(self, data: Mapping[str, Any]) -> Any:
        """``PUT`` the record; returns the decoded reply."""
        return self._send("PUT", self._body("update", data))

    def delete(self, entity_id: Union[str, int]) -> Any:
        """``DELETE`` the record whose primary key is ``entity_id`` (sent as ``Entity-Id``)."""
        return self._send("DELETE", None, self._delete_id(entity_id))

    def _send(self, method: str, body: Optional[bytes], entity_id: Optional[str] = None) -> Any:
        headers = self._headers(entity_id)
        for attempt in range(self._attempts(method)):
            started = time.perf_counter()
            try:
                reply = self._client.request(
                    method, self.realtime_endpoint, headers=headers, body=body, timeout=self.timeout
                )
            except FerrolinkError as exc:
                raise self._transport_failure(exc) from exc
            delay = self._retry_after(method, reply, attempt, started)
            if delay is None:
                return self._result(reply)
            time.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns or raises")


def _is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _decode(reply: Response) -> Any:
    """The reply body: JSON by media type (any parameters), else JSON if it parses, else text."""
    if not reply.body:
        return None
    declared_json = _is_json_media_type(reply.headers.get("content-type", ""))
    try:
        return json.loads(reply.body)
    except ValueError as exc:
        if declared_json and reply.ok:
            raise RealtimeRequestException(
                f"the reply is declared JSON but does not parse: {exc}",
                status_code=reply.status,
                body=reply.text,
            ) from exc
        return reply.text
