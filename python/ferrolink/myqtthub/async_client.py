"""``AsyncClient``: the MyQttHub device session for asyncio programs.

The same constructor, checks, bodies, re-login rules and errors as
:class:`~ferrolink.myqtthub.Client`; the calls are coroutines over
:class:`ferrolink.http.AsyncClient`::

    async with AsyncClient("dev-01", "alice", "s3cret", ca_file=...) as hub:
        await hub.subscribe([("sensors/#", 1)])
        await hub.publish("sensors/t1", b"21.5", qos=1)
        messages = await hub.pull(wait=5)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Callable, Optional

from .. import _core
from ..closing import AsyncClosesOnExit
from ..errors import FerrolinkError
from ..http import AsyncClient as HttpClient
from .client import Message, Payload, Session, _parse, _TokenRejected, log
from .errors import MyQttHubError

__all__ = ["AsyncClient"]


class AsyncClient(Session[HttpClient], AsyncClosesOnExit):
    """An async MyQttHub device session (see :class:`~ferrolink.myqtthub.Client`).

    ``async with`` logs in on enter and out on exit; ``http`` shares a
    :class:`ferrolink.http.AsyncClient`.
    """

    _http_class = HttpClient
    _relogin_lock: Optional[asyncio.Lock] = None  # created on first use, on the running loop

    # -- session -----------------------------------------------------------------------------

    async def login(self) -> dict[str, Any]:
        """``/login``; stores and returns ``{tokenId, stamp, validUntil}``."""
        status, reason, body = await self._post("/login", self._login_body(), cookie=None)
        return self._logged_in(status, reason, body)

    async def logout(self) -> Optional[str]:
        """``/logout``: frees the login slot. Returns the server's text (None if logged out)."""
        token, self._token = self._token, None
        if token is None:
            return None
        return self._logged_out(*await self._post("/logout", self._body({}, token), cookie=token))

    async def aclose(self) -> None:
        """Log out (best effort) and close the connection pool."""
        try:
            if self._token is not None:
                await self.logout()
        except FerrolinkError as exc:
            log.warning("logout while closing failed: %s", exc)
        finally:
            self._close_pool()

    def close(self) -> None:
        """Close the connection pool without logging out (use ``aclose`` to log out)."""
        self._close_pool()

    async def __aenter__(self) -> AsyncClient:
        if self._token is None:
            await self.login()
        return self

    # -- messages ----------------------------------------------------------------------------

    async def publish(
        self, topic: str, payload: Payload, qos: int = 0, retain: bool = False, dup: bool = False
    ) -> None:
        """Publish ``payload`` (bytes, or str as UTF-8) to ``topic``; retain/dup as given."""
        await self._call("/publish", self._publish_body(topic, payload, qos, retain, dup))

    async def publish_many(self, messages: Iterable[Message]) -> int:
        """Publish a batch in order (see :meth:`Client.publish_many`); returns the count."""
        batch = self._batch(messages)
        sent = 0
        while sent < len(batch):
            token = await self._valid_token()
            bodies = _core.myqtthub_publish_bodies(token, batch[sent:])
            for body in bodies:
                try:
                    await self._send("/publish", body, token)
                except _TokenRejected:
                    await self._relogin(token)
                    break  # rebuild the remaining bodies with the new token
                except MyQttHubError as exc:
                    raise self._publish_failed(sent, exc) from exc
                sent += 1
        return sent

    async def subscribe(self, subscriptions: Iterable[tuple[str, int]]) -> Any:
        """``/subscribe`` to ``[(topic_filter, qos), ...]``; the server's per-entry reply."""
        pairs = self._subscription_pairs(subscriptions)
        reply = await self._call_json("/subscribe", {"subscriptions": pairs})
        for topic_filter, qos in pairs:
            self._subscriptions[topic_filter] = qos
        return reply

    async def get_subscriptions(self) -> Any:
        return await self._call_json("/get-subscriptions", {})

    async def pull(self, wait: float = 0.0, interval: float = 0.5) -> list[dict[str, Any]]:
        """``/pull``: the queued messages; with ``wait`` > 0 polls until one arrives."""
        deadline = time.monotonic() + wait
        while True:
            messages = self._pulled(await self._call("/pull", lambda token: self._body({}, token)))
            if messages or time.monotonic() >= deadline:
                return messages
            await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))

    async def messages(self, interval: float = 1.0) -> AsyncIterator[dict[str, Any]]:
        """``async for`` every message as it arrives (polls ``/pull``), forever."""
        while True:
            for message in await self.pull(wait=interval, interval=min(interval, 0.5)):
                yield message

    # -- admin and other services -----------------------------------------------------------

    async def change_password(self, new_password: str) -> Any:
        reply = await self._call_json("/change-my-password", self._password_body(new_password))
        self._password = new_password
        return reply

    async def domain_list(self) -> Any:
        return await self._call_json("/domain/list", {})

    async def domain_view(self, domain: str) -> Any:
        return await self._call_json("/domain/view", {"domain": domain})

    async def device_list(self, domain_name: str) -> Any:
        return await self._call_json("/device/list", {"domainName": domain_name})

    async def stash_download(
        self,
        domain_name: str,
        stash_name: str,
        download_as: str = "json",
        download_frame: str = "1h",
    ) -> Any:
        params = self._stash_params(domain_name, stash_name, download_as, download_frame)
        return await self._call_json("/stashed/download", params)

    async def request(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """Any other service: ``POST path`` with ``params`` (+ the token); JSON or text back."""
        return await self._call_json(self._checked_path(path), dict(params or {}))

    # -- plumbing ----------------------------------------------------------------------------

    async def _call_json(self, path: str, params: dict[str, Any]) -> Any:
        return _parse(await self._call(path, lambda token: self._body(params, token)))

    async def _valid_token(self) -> str:
        """The token, logging in first when there is none or it is about to expire."""
        token = self._token
        if token is not None and self._expiring(token):
            await self._relogin(token)
            token = self._token
        if token is None:
            await self._relogin(None, restore=False)
            token = self._token
        assert token is not None
        return token

    async def _relogin(self, stale: Optional[str], restore: bool = True) -> None:
        """Log in again (unless another task already did) and restore the subscriptions."""
        if self._relogin_lock is None:
            self._relogin_lock = asyncio.Lock()
        async with self._relogin_lock:
            if self._token not in (stale, None):
                return
            self._token = None
            await self.login()
            body = self._resubscribe_body() if restore else None
            if body is not None:
                assert self._token is not None
                await self._send("/subscribe", body, self._token)

    async def _call(self, path: str, build: Callable[[str], bytes]) -> bytes:
        """Send an authenticated call; on a rejected token log in again and retry once."""
        token = await self._valid_token()
        try:
            return await self._send(path, build(token), token)
        except _TokenRejected:
            log.info("%s: the server rejected the token; logging in again", path)
            await self._relogin(token)
            token = await self._valid_token()
        try:
            return await self._send(path, build(token), token)
        except _TokenRejected as exc:
            raise self._rejected_again(path, exc) from None

    async def _send(self, path: str, body: bytes, token: str) -> bytes:
        status, reason, _headers, reply = await self.send(
            "POST", path, body, self._token_headers(token)
        )
        return self._checked(path, status, reason, reply)

    async def _post(self, path: str, body: bytes, cookie: Optional[str]) -> tuple[int, str, bytes]:
        status, reason, _headers, reply = await self.send(
            "POST", path, body, self._post_headers(cookie)
        )
        return status, reason, reply

    async def send(
        self, method: str, path: str, body: Optional[bytes], headers: list[tuple[str, str]]
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """One request exactly as given (no token added); see :meth:`Client.send`."""
        status, reason, reply_headers, reply, _url = await self._http._send(
            method, self.base_url + path, headers, body, self.timeout
        )
        self._sent(path, status)
        return status, reason, reply_headers, reply
