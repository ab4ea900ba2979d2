"""``AsyncRealtimeRequest``: the realtime API for asyncio programs.

The same constructor, validation, headers, retry rules, replies and errors as
:class:`~ferrolink.dsync.RealtimeRequest`; ``create``, ``update`` and ``delete`` are
coroutines, sent through :class:`ferrolink.http.AsyncClient`::

    async with AsyncRealtimeRequest(auth_token, entity_token) as request:
        await request.create({"sku": "ABC-123"})
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Optional, TypeVar, Union

from ..closing import AsyncClosesOnExit
from ..errors import FerrolinkError
from ..http import AsyncClient
from .realtime import RealtimeBase

__all__ = ["AsyncRealtimeRequest"]

_A = TypeVar("_A", bound="AsyncRealtimeRequest")


class AsyncRealtimeRequest(RealtimeBase[AsyncClient], AsyncClosesOnExit):
    """Async realtime requests for one entity; ``client`` shares a
    :class:`ferrolink.http.AsyncClient`. Cancelling a call aborts its request."""

    _client_class = AsyncClient

    async def create(self, data: Mapping[str, Any]) -> Any:
        """``POST`` the record; returns the decoded reply (None for an empty body)."""
        return await self._send("POST", self._body("create", data))

    async def update(self, data: Mapping[str, Any]) -> Any:
        """``PUT`` the record; returns the decoded reply."""
        return await self._send("PUT", self._body("update", data))

    async def delete(self, entity_id: Union[str, int]) -> Any:
        """``DELETE`` the record whose primary key is ``entity_id`` (sent as ``Entity-Id``)."""
        return await self._send("DELETE", None, self._delete_id(entity_id))

    async def _send(
        self, method: str, body: Optional[bytes], entity_id: Optional[str] = None
    ) -> Any:
        headers = self._headers(entity_id)
        for attempt in range(self._attempts(method)):
            started = time.perf_counter()
            try:
                reply = await self._client.request(
                    method, self.realtime_endpoint, headers=headers, body=body, timeout=self.timeout
                )
            except FerrolinkError as exc:
                raise self._transport_failure(exc) from exc
            delay = self._retry_after(method, reply, attempt, started)
            if delay is None:
                return self._result(reply)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns or raises")
