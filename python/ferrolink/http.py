"""``ferrolink.http``: the pooled HTTPS/1.1 client every ferrolink service goes through.

The Rust core owns the connection pool and TLS; a request crosses into Rust once, the GIL is
released around the send and the full body read, and the response comes back as status,
headers and one ``bytes``.
"""

from __future__ import annotations

import json as _json
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any, Optional, Union
from urllib.parse import urlencode, urljoin, urlsplit

from . import _core
from .closing import ClosesOnExit
from .errors import InvalidArgumentError, ProtocolError
from .redact import redact_url

__all__ = ["AsyncClient", "Client", "Headers", "Response"]

log = logging.getLogger("ferrolink.http")

Body = Union[bytes, bytearray, memoryview, str]
HeaderInput = Union[Mapping[str, str], list[tuple[str, str]], None]
#: ``(status, reason, headers, body, url)``: a reply as the transport gives it; ``url`` is the
#: one that answered (after any redirects followed).
RawResponse = tuple[int, str, list[tuple[str, str]], bytes, str]

#: The longest chain of 307/308 redirects ``Client._send`` follows when asked to.
MAX_REDIRECTS = 5
#: The largest response body a client reads by default (bytes, 256 MiB; a client's
#: ``max_response_body`` sets its own); past it a request raises
#: :class:`~ferrolink.errors.ProtocolError` rather than fill memory.
MAX_RESPONSE_BODY: int = _core.HTTP_MAX_RESPONSE_BODY


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only response headers; repeated names are joined with ``, ``."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        merged: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        self._map = merged

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in arrival order (e.g. several ``Set-Cookie``)."""
        key = name.lower()
        return [v for k, v in self._items if k.lower() == key]

    def items_raw(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._map)!r})"


class Response:
    """A complete HTTP response: the body has been read to the end."""

    __slots__ = ("_headers", "_raw_headers", "body", "reason", "status", "url")

    def __init__(
        self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes, url: str
    ) -> None:
        self.status = status
        self.reason = reason
        self._raw_headers = headers
        self._headers: Optional[Headers] = None
        self.body = body
        self.url = url

    @property
    def headers(self) -> Headers:
        if self._headers is None:  # built on first use: most callers never look
            self._headers = Headers(self._raw_headers)
        return self._headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded with the charset the server declared (UTF-8 if none)."""
        charset = "utf-8"
        ctype = self.headers.get("content-type", "")
        for part in ctype.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response [{self.status}] {redact_url(self.url)} {len(self.body)} bytes>"


def _byte_count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a number of bytes, got {value!r}")
    if not 0 < value < 2**64:
        raise InvalidArgumentError(f"{name} must be from 1 to 2**64 - 1 bytes, got {value!r}")
    return value


def _seconds(name: str, value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{name} must be a number of seconds, got {value!r}")
    if not value > 0:
        raise InvalidArgumentError(f"{name} must be positive, got {value!r}")
    return float(value)


class Client(ClosesOnExit):
    """A thread-safe HTTP/1.1 client with a keep-alive connection pool over rustls.

    Timeouts are in seconds: ``connect_timeout`` for establishing a connection,
    ``read_timeout`` for any single read, ``timeout`` for a whole request. Trust is the system
    store (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured) plus ``ca_file``; ``verify=False``
    turns certificate and host-name checks off and logs a warning. ``proxy`` is an
    ``http://host:port`` URL (https targets are tunnelled with CONNECT); without one the
    standard ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` variables apply unless
    ``trust_env=False``. A response body longer than ``max_response_body`` bytes (default
    :data:`MAX_RESPONSE_BODY`, 256 MiB) raises :class:`~ferrolink.errors.ProtocolError`.
    """

    def __init__(
        self,
        *,
        timeout: Optional[float] = 300.0,
        connect_timeout: Optional[float] = 10.0,
        read_timeout: Optional[float] = 60.0,
        ca_file: Union[str, os.PathLike[str], None] = None,
        verify: bool = True,
        proxy: Optional[str] = None,
        trust_env: bool = True,
        user_agent: Optional[str] = None,
        max_idle_per_host: int = 32,
        max_response_body: int = MAX_RESPONSE_BODY,
    ) -> None:
        if not verify:
            log.warning("TLS certificate verification is disabled for this client")
        if max_idle_per_host < 0:
            raise InvalidArgumentError("max_idle_per_host must be >= 0")
        self._native: Optional[_core.HttpClient] = _core.HttpClient(
            connect_timeout=_seconds("connect_timeout", connect_timeout),
            read_timeout=_seconds("read_timeout", read_timeout),
            total_timeout=_seconds("timeout", timeout),
            ca_file=os.fspath(ca_file) if ca_file is not None else None,
            verify=verify,
            proxy=proxy,
            trust_env=trust_env,
            user_agent=user_agent,
            max_idle_per_host=max_idle_per_host,
            max_response_body=_byte_count("max_response_body", max_response_body),
        )

    def _send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Optional[bytes] = None,
        timeout: Optional[float] = None,
        *,
        follow_redirects: bool = False,
    ) -> RawResponse:
        """The one way every ferrolink service reaches the network; returns the raw reply.

        ``follow_redirects`` follows 307 and 308, the redirects that keep the method and body,
        up to :data:`MAX_REDIRECTS` hops; a longer chain (a loop, say) raises
        :class:`~ferrolink.errors.ProtocolError`. Other redirects are returned as they are.
        """
        native = self._native
        if native is None:
            raise InvalidArgumentError("this ferrolink.http.Client is closed")
        status, reason, headers_out, data = native.request(method, url, headers, body, timeout)
        hops = 0
        # The status test first: the usual reply costs no call (this is every request's path).
        while follow_redirects and status in _REDIRECTS:
            target = _redirect_target(headers_out, url, hops)
            if target is None:
                break
            url, hops = target, hops + 1
            status, reason, headers_out, data = native.request(method, url, headers, body, timeout)
        if log.isEnabledFor(logging.DEBUG):
            _log_reply(method, url, status, data)
        return status, reason, headers_out, data, url

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: HeaderInput = None,
        body: Optional[Body] = None,
        json: Any = None,
        form: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Response:
        """Send one request and return the complete :class:`Response` (any status)."""
        header_list, payload = _prepare(headers, body, json, form)
        return Response(
            *self._send(method, url, header_list, payload, _seconds("timeout", timeout))
        )

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        """Drop the pool; idle connections are closed. Further requests raise."""
        self._native = None

    def __repr__(self) -> str:
        state = "closed" if self._native is None else "open"
        return f"<ferrolink.http.Client {state}>"


# The redirects that keep the method and body: the only ones ``follow_redirects`` follows.
_REDIRECTS = frozenset((307, 308))


def _redirect_target(headers: list[tuple[str, str]], url: str, hops: int) -> Optional[str]:
    """Where a 307/308 reply sends the request next, or None without a ``Location``.

    Raises :class:`~ferrolink.errors.ProtocolError` past :data:`MAX_REDIRECTS` hops."""
    location = next((v for k, v in headers if k.lower() == "location"), None)
    if not location:
        return None
    if hops >= MAX_REDIRECTS:
        # A server may redirect to the same URL and answer the next time: only the hop count
        # tells a loop.
        raise ProtocolError(
            f"more than {MAX_REDIRECTS} redirects (a redirect loop?), "
            f"the last from {redact_url(url)}",
            host=urlsplit(url).hostname,
        )
    return urljoin(url, location)


def _log_reply(method: str, url: str, status: int, data: bytes) -> None:
    """The DEBUG line for a reply (callers check the level first: this is the hot path)."""
    log.debug("%s %s -> %d (%d bytes)", method, redact_url(url), status, len(data))


def _prepare(
    headers: HeaderInput, body: Optional[Body], json: Any, form: Optional[Mapping[str, Any]]
) -> tuple[list[tuple[str, str]], Optional[bytes]]:
    """The header list and payload bytes of a request, shared by Client and AsyncClient."""
    header_list = _header_list(headers)
    return header_list, _payload(body, json, form, header_list)


def _header_list(headers: HeaderInput) -> list[tuple[str, str]]:
    if headers is None:
        return []
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgumentError(
                f"header names and values must be str, got {type(name).__name__}: "
                f"{type(value).__name__} for {name!r}"
            )
    return items


def _has_header(headers: list[tuple[str, str]], name: str) -> bool:
    return any(k.lower() == name for k, _ in headers)


def _payload(
    body: Optional[Body],
    json: Any,
    form: Optional[Mapping[str, Any]],
    headers: list[tuple[str, str]],
) -> Optional[bytes]:
    given = [name for name, v in (("body", body), ("json", json), ("form", form)) if v is not None]
    if len(given) > 1:
        raise InvalidArgumentError(f"pass only one of body, json and form (got {', '.join(given)})")
    if json is not None:
        if not _has_header(headers, "content-type"):
            headers.append(("Content-Type", "application/json"))
        return _json.dumps(json, separators=(",", ":")).encode()
    if form is not None:
        if not _has_header(headers, "content-type"):
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        return urlencode(form).encode()
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise InvalidArgumentError(f"body must be bytes or str, got {type(body).__name__}")


from ._async_http import AsyncClient  # noqa: E402  (it builds on the helpers above)
