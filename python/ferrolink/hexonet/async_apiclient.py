"""``AsyncAPIClient``: the HEXONET connector for asyncio programs.

It is :class:`~ferrolink.hexonet.apiclient.APIClient` with coroutines where the sync client
sends: ``request``, ``login``, ``loginExtended``, ``logout``, ``requestNextResponsePage`` and
``requestAllResponsePages``. The configuration methods, the commands it sends and the
:class:`~ferrolink.hexonet.response.Response` objects it returns are the same (they are the
same code). Requests go through :class:`ferrolink.http.AsyncClient`, so many may be in flight
at once on one client::

    async with AsyncAPIClient() as cl:
        cl.useOTESystem().setCredentials("user", "password")
        replies = await asyncio.gather(*(cl.request(cmd) for cmd in commands))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, TypeVar

from ..closing import AsyncClosesOnExit
from ..errors import FerrolinkError
from ..http import AsyncClient
from .apiclient import Command, Connector, _http_error
from .response import Response

__all__ = ["AsyncAPIClient"]

_A = TypeVar("_A", bound="AsyncAPIClient")


class AsyncAPIClient(Connector, AsyncClosesOnExit):
    """Async connector to the HEXONET API (LIVE system by default); see the module docstring."""

    _transport_class = AsyncClient

    async def login(self, otp: str = "") -> Response:
        response = await self.request(self._login_command({}, otp))
        self._store_session(response)
        return response

    async def loginExtended(self, params: Mapping[str, Any], otp: str = "") -> Response:
        response = await self.request(self._login_command(params, otp))
        self._store_session(response)
        return response

    async def logout(self) -> Response:
        return self._logged_out(await self.request({"COMMAND": "EndSession"}))

    async def request(self, cmd: Command) -> Response:
        """Send ``cmd``; never raises for transport or HTTP errors (see the 421 response)."""
        command, body, idn_keys = self._command(cmd)
        if idn_keys:
            assert isinstance(command, dict)
            reply = await self.request(self._convert_idn_command(command, idn_keys))
            self._apply_ace(command, idn_keys, reply)
            body = self._post_body(command)
        url = self._url
        try:
            client: AsyncClient = self._transport()
            status, reason, _headers, data, _url = await client._send(
                "POST", url, self._headers(), body, follow_redirects=True
            )
        except FerrolinkError as exc:
            return self._response(url, command, None, b"", str(exc))
        return self._response(url, command, status, data, _http_error(status, reason))

    async def requestNextResponsePage(self, rr: Response) -> Optional[Response]:
        """The page after ``rr`` (``None`` after the last). Raises if the command uses LAST."""
        command = self._next_page_command(rr)
        return None if command is None else await self.request(command)

    async def requestAllResponsePages(self, cmd: Mapping[str, Any]) -> list[Response]:
        """Every page of a list query from ``FIRST=0``; an error page ends the list."""
        responses: list[Response] = []
        page: Optional[Response] = await self.request(self._first_page_command(cmd))
        while page is not None:
            responses.append(page)
            page = await self.requestNextResponsePage(page)
        return responses

    login_extended = loginExtended
    request_next_response_page = requestNextResponsePage
    request_all_response_pages = requestAllResponsePages
