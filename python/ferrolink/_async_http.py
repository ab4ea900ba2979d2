"""``ferrolink.http.AsyncClient``: the asyncio face of the Rust async HTTPS/1.1 transport.

Requests run on the Rust core's tokio runtime, never on the event loop and never holding the
GIL while they wait. Each event loop gets one completion queue: finished requests are queued
in Rust and the loop is woken once per burst, settling every finished future in one callback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Mapping
from typing import Any, Optional, TypeVar, Union

from . import _core
from .closing import AsyncClosesOnExit
from .errors import InvalidArgumentError
from .http import (
    _REDIRECTS,
    MAX_RESPONSE_BODY,
    Body,
    HeaderInput,
    RawResponse,
    Response,
    _byte_count,
    _log_reply,
    _prepare,
    _redirect_target,
    _seconds,
)

__all__ = ["AsyncClient"]

log = logging.getLogger("ferrolink.http")

_C = TypeVar("_C", bound="AsyncClient")

# One completion queue per running loop, shared by every AsyncClient on it; it goes with the loop.
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _core.AsyncCompletions] = (
    weakref.WeakKeyDictionary()
)


def _completions(loop: asyncio.AbstractEventLoop) -> _core.AsyncCompletions:
    queue = _queues.get(loop)
    if queue is None:
        queue = _core.AsyncCompletions()
        fd = queue.fileno()
        try:
            if fd is None:
                raise NotImplementedError
            loop.add_reader(fd, queue)
        except NotImplementedError:  # e.g. the Windows proactor loop watches no sockets
            queue = _core.AsyncCompletions(loop.call_soon_threadsafe)
        _queues[loop] = queue
    return queue


class AsyncClient(AsyncClosesOnExit):
    """An asyncio HTTP/1.1 client with its own keep-alive connection pool over rustls.

    Options are those of :class:`ferrolink.http.Client`, plus ``max_connections``: at most
    that many requests are in flight (hence connections open) at once; more wait their turn.
    Use ``async with``, or call :meth:`aclose`. Cancelling the task awaiting a request aborts
    that request; its connection is closed, never reused.
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
        max_connections: int = 100,
    ) -> None:
        if not verify:
            log.warning("TLS certificate verification is disabled for this client")
        if max_idle_per_host < 0:
            raise InvalidArgumentError("max_idle_per_host must be >= 0")
        if max_connections < 1:
            raise InvalidArgumentError("max_connections must be >= 1")
        self._native: Optional[_core.AsyncHttpClient] = _core.AsyncHttpClient(
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
            max_connections=max_connections,
        )
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._queue: Optional[_core.AsyncCompletions] = None

    async def _send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Optional[bytes] = None,
        timeout: Optional[float] = None,
        *,
        follow_redirects: bool = False,
    ) -> RawResponse:
        """The async twin of :meth:`Client._send <ferrolink.http.Client._send>`: the one way
        every async ferrolink service reaches the network; returns the raw reply."""
        status, reason, headers_out, data = await self._once(method, url, headers, body, timeout)
        hops = 0
        while follow_redirects and status in _REDIRECTS:
            target = _redirect_target(headers_out, url, hops)
            if target is None:
                break
            url, hops = target, hops + 1
            status, reason, headers_out, data = await self._once(
                method, url, headers, body, timeout
            )
        if log.isEnabledFor(logging.DEBUG):
            _log_reply(method, url, status, data)
        return status, reason, headers_out, data, url

    async def _once(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Optional[bytes],
        timeout: Optional[float],
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        native = self._native
        if native is None:
            raise InvalidArgumentError("this ferrolink.http.AsyncClient is closed")
        loop = asyncio.get_running_loop()
        queue = self._queue
        if loop is not self._loop or queue is None:
            queue = self._queue = _completions(loop)
            self._loop = loop
        future: asyncio.Future[tuple[int, str, list[tuple[str, str]], bytes]]
        future = loop.create_future()
        pending = native.request(queue, future, method, url, headers, body, timeout)
        try:
            return await future
        except asyncio.CancelledError:
            pending.abort()
            raise

    async def request(
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
            *await self._send(method, url, header_list, payload, _seconds("timeout", timeout))
        )

    async def get(self, url: str, **kwargs: Any) -> Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Response:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Response:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Response:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Response:
        return await self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        """Drop the pool; idle connections are closed. Further requests raise."""
        self._native = None
        self._queue = None
        self._loop = None

    def __repr__(self) -> str:
        state = "closed" if self._native is None else "open"
        return f"<ferrolink.http.AsyncClient {state}>"
