"""``AsyncPushClient``: iDigi monitor management and push events for asyncio programs.

The monitor calls are those of :class:`~ferrolink.idigi.PushClient`, as coroutines over
:class:`ferrolink.http.AsyncClient`. Pushed events arrive through an async iterator fed by
the same Rust push session (same reconnect, back-pressure and ack rules)::

    async with AsyncPushClient(user, password, hostname=...) as client:
        monitor_id = await client.create_monitor(["DeviceCore"], ack="explicit")
        async with client.events(monitor_id) as events:
            async for event in events:
                handle(event.data)      # acknowledged when this body finishes without raising

An event is acknowledged when the loop asks for the next one (or the ``async with`` block
ends without an exception); an exception in the body leaves it unacknowledged, so the server
sends it again. With ``auto_ack=False`` nothing is acknowledged until ``event.ack()``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Optional, Union

from .. import _core, errors
from ..closing import AsyncClosesOnExit
from ..http import AsyncClient, Response
from .client import MonitorId, MonitorsBase, _monitor_id, _monitor_xml, log
from .session import ErrorHook, StateHook, log_state, payload_value, session_error

__all__ = ["AsyncPushClient", "EventStream", "PushEvent"]

# Events taken from the Rust session per hop onto the loop, and how long one hop may wait.
_BATCH = 1024
_WAIT = 0.25


class PushEvent:
    """One pushed block: ``data`` (text, or decoded JSON with ``parsed=True``)."""

    __slots__ = ("_native", "acked", "block_id", "data", "generation", "monitor_id")

    def __init__(
        self,
        native: _core.IdigiPushSession,
        monitor_id: int,
        generation: int,
        block_id: int,
        data: Any,
    ) -> None:
        self._native = native
        self.monitor_id = monitor_id
        self.generation = generation
        self.block_id = block_id
        self.data = data
        self.acked = False

    def ack(self) -> None:
        """Acknowledge this block (once; later calls do nothing)."""
        if not self.acked:
            self.acked = True
            self._native.ack(self.generation, [self.block_id])

    def __repr__(self) -> str:
        return f"<PushEvent monitor={self.monitor_id} block={self.block_id} acked={self.acked}>"


class EventStream:
    """``async for event in stream``: one monitor's pushed events (see the module docstring).

    ``state`` follows the session (connecting / connected / disconnected / failed / stopped).
    The iteration ends when the stream is closed; it raises the session's last error when the
    session gave up (wrong credentials, unknown monitor, ``max_attempts`` reached).
    """

    def __init__(
        self,
        native: _core.IdigiPushSession,
        monitor_id: int,
        *,
        parsed: bool,
        auto_ack: bool,
        on_state: Optional[StateHook],
        on_error: Optional[ErrorHook],
    ) -> None:
        self._native = native
        self.monitor_id = monitor_id
        self.parsed = parsed
        self.auto_ack = auto_ack
        self.on_state = on_state
        self.on_error = on_error
        self.state = "new"
        self._ready: deque[PushEvent] = deque()
        self._fetch: Optional[asyncio.Future[tuple[list[tuple[Any, ...]], bool]]] = None
        self._handed: Optional[PushEvent] = None  # auto_ack: the event the loop body has
        self._finished = False
        self._closed = False
        self._failure: Optional[errors.FerrolinkError] = None

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> PushEvent:
        handed, self._handed = self._handed, None
        if handed is not None:  # asked for the next one: the body finished without raising
            handed.ack()
        while not self._ready:
            if self._closed or self._finished:
                await self.aclose()
                if self._failure is not None and self.state == "failed":
                    raise self._failure
                raise StopAsyncIteration
            await self._take()
        event = self._ready.popleft()
        if self.auto_ack:
            self._handed = event
        return event

    async def _take(self) -> None:
        if self._fetch is None:
            loop = asyncio.get_running_loop()
            # The wait happens on a worker thread; the GIL is released inside next_events.
            self._fetch = loop.run_in_executor(None, self._native.next_events, _BATCH, _WAIT)
        # Shielded: a cancelled consumer must not lose a batch already taken from the session.
        events, finished = await asyncio.shield(self._fetch)
        self._fetch = None
        self._finished = finished
        for event in events:
            tag = event[0]
            if tag == "frame":
                _, generation, block_id, _count, _compression, fmt, payload = event
                try:
                    data = payload_value(payload, fmt, self.parsed)
                except ValueError as exc:
                    self._report(
                        errors.ProtocolError(
                            f"monitor {self.monitor_id}: undecodable payload: {exc}"
                        )
                    )
                    continue
                self._ready.append(
                    PushEvent(self._native, self.monitor_id, generation, block_id, data)
                )
            elif tag == "state":
                self.state = event[1]
                log_state(self.monitor_id, event[1], event[2])
                if self.on_state is not None:
                    self.on_state(event[1], event[2])
            else:
                self._report(session_error(event, self.monitor_id))

    def _report(self, exc: errors.FerrolinkError) -> None:
        self._failure = exc
        log.warning("%s", exc)
        if self.on_error is not None:
            self.on_error(exc)

    async def aclose(self) -> None:
        """Stop the session (idempotent); events not yet handed out are dropped unacknowledged."""
        if self._closed:
            return
        self._closed = True
        self._ready.clear()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._native.stop, 2.0)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        handed, self._handed = self._handed, None
        if handed is not None and exc_type is None:
            handed.ack()
        await self.aclose()

    def __repr__(self) -> str:
        return f"<EventStream monitor={self.monitor_id} state={self.state}>"


class AsyncPushClient(MonitorsBase[AsyncClient], AsyncClosesOnExit):
    """Async REST + push client for one account; options as :class:`PushClient`."""

    _http_class = AsyncClient

    async def _request(
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
        response = await self._http.request(method, url, headers=headers, body=data)
        for delay in self._throttle_delays():
            if not self._throttled(method, path, response, delay):
                break
            await asyncio.sleep(delay)
            response = await self._http.request(method, url, headers=headers, body=data)
        return self._authorized(response)

    async def create_monitor(
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
        response = await self._request("POST", "/ws/Monitor", body=body, accept="application/xml")
        return self._created_id(response)

    async def list_monitors(
        self, condition: Optional[str] = None, page_size: int = 1000
    ) -> list[dict[str, Any]]:
        """Every monitor (legacy JSON items, values as strings), following ``remainingSize``."""
        monitors: list[dict[str, Any]] = []
        start, more = 0, True
        while more:
            response = await self._request("GET", self._page_path(condition, start, page_size))
            items, more = self._page_items(response)
            monitors.extend(items)
            start += len(items)
        return monitors

    async def get_monitor(self, topics: Union[str, Iterable[str]]) -> Optional[int]:
        """The id of the first monitor whose ``monTopic`` is exactly these topics, or None."""
        wanted, condition = self._topic_condition(topics)
        for item in await self.list_monitors(condition):
            if item.get("monTopic") == wanted:
                return _monitor_id(item["monId"])
        return None

    async def get_monitor_info(self, monitor_id: MonitorId) -> dict[str, Any]:
        number = _monitor_id(monitor_id)
        return self._monitor_info(number, await self._request("GET", f"/ws/Monitor/{number}"))

    async def update_monitor(self, monitor_id: MonitorId, **fields: Any) -> None:
        number = _monitor_id(monitor_id)
        body = _monitor_xml(fields.items())
        response = await self._request("PUT", f"/ws/Monitor/{number}", body=body)
        if not response.ok:
            raise self._fail(f"Monitor {number} could not be updated", response)

    async def delete_monitor(self, monitor_id: MonitorId) -> None:
        number = _monitor_id(monitor_id)
        response = await self._request("DELETE", f"/ws/Monitor/{number}")
        if not response.ok:
            raise self._fail(f"Monitor {number} could not be deleted", response)

    def events(
        self,
        monitor_id: MonitorId,
        *,
        parsed: bool = False,
        auto_ack: bool = True,
        on_state: Optional[StateHook] = None,
        on_error: Optional[ErrorHook] = None,
    ) -> EventStream:
        """Open a push session for ``monitor_id`` and iterate over its events."""
        options = self._push_options()
        assert self.username and self._password is not None
        number = _monitor_id(monitor_id)
        native = options.open(self.username, self._password, number)
        return EventStream(
            native, number, parsed=parsed, auto_ack=auto_ack, on_state=on_state, on_error=on_error
        )

    def close(self) -> None:
        self._http.close()
