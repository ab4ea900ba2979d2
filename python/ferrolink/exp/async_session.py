"""The asyncio REST session of EXP, and the event-loop thread of the sync ``request()``.

:class:`AsyncSession` is :class:`~.session.Session` on :class:`ferrolink.http.AsyncClient`:
the same login, timer refresh (a task here) and retry-once on 401, and the same
:data:`~.session.Flow` driver, so both runtimes send the same calls.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from typing import Any, Optional, TypeVar

from ..errors import TransportError
from ..http import AsyncClient, Response
from .auth import Credentials
from .errors import AuthenticationError, ExpError
from .session import Call, Flow, Session, SessionState

__all__ = ["AsyncSession", "RequestLoop"]

log = logging.getLogger("ferrolink.exp")

T = TypeVar("T")


class AsyncSession(SessionState):
    """REST access for one identity on the running loop; a task refreshes the token."""

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
        self.http = AsyncClient(
            timeout=None,
            connect_timeout=self.timeout,
            read_timeout=None,
            ca_file=ca_file,
            verify=verify,
        )
        # Made on first use, on the loop: before Python 3.10 they bind to a loop when made.
        self._lock: Optional[asyncio.Lock] = None  # one login/refresh at a time
        self._refresh_at: Optional[float] = None
        self._rescheduled: Optional[asyncio.Event] = None
        self._refresher: Optional[asyncio.Task[None]] = None

    def _auth_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def login(self) -> None:
        """Full login with the stored credentials (``AuthenticationError`` on 401)."""
        async with self._auth_lock():
            await self._login()

    async def refresh(self) -> None:
        """``POST /api/auth/token``; a 401 there means a full login."""
        async with self._auth_lock():
            await self._refresh()

    async def renew(self, stale: str) -> None:
        """Refresh the token ``stale`` unless another task already has."""
        async with self._auth_lock():
            if self._is_stale(stale):
                await self._refresh()

    async def _login(self) -> None:
        if not self.credentials.can_login:
            return
        reply = await self._raw(
            "POST", "/api/auth/login", None, self.credentials.login_body(), None
        )
        self._check_login(reply)
        self._schedule(self._store(reply, "login"))
        log.info("logged in to %s as %s", self.host, self.credentials.kind)

    async def _refresh(self) -> None:
        if not self.credentials.can_login:
            return
        reply = await self._raw("POST", "/api/auth/token", self.token, None, None)
        if reply.status == 401:
            log.info("token refresh refused; logging in again")
            await self._login()
            return
        self._schedule(self._store(reply, "refresh"))
        log.debug("token refreshed")

    def _schedule(self, refresh_at: Optional[float]) -> None:
        if refresh_at is None or self._closed:
            return
        self._refresh_at = refresh_at
        if self._rescheduled is not None:
            self._rescheduled.set()
        if self._refresher is None:
            self._refresher = asyncio.ensure_future(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        rescheduled = self._rescheduled = asyncio.Event()
        while True:
            at = self._refresh_at
            rescheduled.clear()
            if at is not None and time.time() >= at:
                self._refresh_at = None
                try:
                    await self.refresh()
                except AuthenticationError as exc:
                    log.error("token refresh: credentials rejected (%s); giving up", exc)
                except ExpError as exc:
                    log.warning("token refresh failed (%s); retrying in 2 s", exc)
                    self._refresh_at = time.time() + 2.0
                continue
            wait = None if at is None else at - time.time()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(rescheduled.wait(), wait)

    async def close(self) -> None:
        self._closed = True
        refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[dict[str, Any]] = None,
        payload: Any = None,
        timeout: Optional[float] = None,
        none_on_404: bool = False,
    ) -> Any:
        """Send one call and decode its JSON reply (see :meth:`.session.Session.request`)."""
        return await self.call(Call(method, path, payload, params, none_on_404), timeout)

    async def call(self, call: Call, timeout: Optional[float] = None) -> Any:
        """Send ``call`` and return its decoded reply; a 401 renews and retries once."""
        path = self._target(call)
        timeout = (timeout or self.timeout) + call.window
        token = self.token
        reply = await self._raw(call.method, path, token, call.payload, timeout)
        if self._retries(reply):
            await self.renew(token)
            reply = await self._raw(call.method, path, self.token, call.payload, timeout)
        return self._value(call, path, reply)

    async def run(self, flow: Flow[T]) -> T:
        """Drive ``flow`` to its result, awaiting each of its calls in turn."""
        try:
            call = next(flow)
            while True:
                call = flow.send(await self.call(call))
        except StopIteration as done:
            result: T = done.value
            return result

    async def _raw(
        self, method: str, path: str, token: Optional[str], payload: Any, timeout: Optional[float]
    ) -> Response:
        try:
            reply = await self.http.request(
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


class _BorrowedSession(AsyncSession):
    """An async session that speaks with a sync :class:`~.session.Session`'s token."""

    def __init__(self, owner: Session, ca_file: Optional[str], verify: bool) -> None:
        super().__init__(
            owner.host, owner.credentials, timeout=owner.timeout, ca_file=ca_file, verify=verify
        )
        self._owner = owner

    @property
    def auth(self) -> dict[str, Any]:
        return self._owner.auth

    def _secrets(self) -> tuple[str, ...]:
        return self._owner._secrets()

    async def renew(self, stale: str) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._owner.renew, stale)


class RequestLoop:
    """The sync runtime's ``request()`` POSTs, on one event-loop thread per instance.

    The server holds a broadcast POST open for the whole response window, also after an
    early answer; here the requester cancels it instead (the async transport aborts it), so
    no thread stays blocked until the window closes, and :meth:`close` ends everything.
    """

    def __init__(self, owner: Session, ca_file: Optional[str], verify: bool) -> None:
        self._session = _BorrowedSession(owner, ca_file, verify)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ferrolink-exp-requests", daemon=True
        )
        self._thread.start()

    def post(self, call: Call) -> concurrent.futures.Future[Any]:
        """Send ``call``; the future resolves with its decoded reply, cancelling aborts it."""
        return asyncio.run_coroutine_threadsafe(self._session.call(call), self._loop)

    def close(self) -> None:
        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._session.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()
