"""``session['conn']``: the tutorial's ``http.client`` connection, on the ferrolink pool.

The ASPL tutorial talks to the REST API through ``httplib.HTTPSConnection``:
``conn.request("POST", "/publish", json.dumps(params), headers)`` then
``conn.getresponse()``. :class:`Connection` offers exactly those calls over the session's
pooled, verified HTTPS client, so the tutorial's own code runs unchanged (in Python 3
syntax). Unlike ``http.client``, each request is complete (the reply is read) before
``request()`` returns, so forgetting to ``read()`` a response never blocks the next request.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional, Union

from ..errors import InvalidArgumentError
from ..http import Headers

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Connection", "ConnectionResponse"]


class ConnectionResponse:
    """A complete reply, with the ``http.client.HTTPResponse`` accessors."""

    version = 11

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.headers = Headers(headers)
        self._body = io.BytesIO(body)

    def read(self, amt: Optional[int] = None) -> bytes:
        """The body (or its next ``amt`` bytes); ``b""`` once closed, as ``http.client``."""
        return b"" if self._body.closed else self._body.read(amt)

    def getheader(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.headers.get(name, default)

    def getheaders(self) -> list[tuple[str, str]]:
        return self.headers.items_raw()

    def isclosed(self) -> bool:
        return self._body.closed

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> ConnectionResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ConnectionResponse [{self.status} {self.reason}]>"


class Connection:
    """``request(method, url, body=None, headers={})``, ``getresponse()`` and ``close()`` of
    ``http.client.HTTPSConnection``, for the host of ``client``.

    ``url`` is a path on that host (``"/publish"``); a ``str`` body is sent as UTF-8. The
    :class:`~ferrolink.myqtthub.Client` behind it stays available as :attr:`client`, and
    :meth:`close` ends the session (logs out if still logged in) as the tutorial expects.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.host = client.base_url
        self._response: Optional[ConnectionResponse] = None

    def request(
        self,
        method: str,
        url: str,
        body: Union[str, bytes, None] = None,
        headers: Mapping[str, str] = {},  # http.client's signature; never mutated
    ) -> None:
        if not url.startswith("/"):
            raise InvalidArgumentError(f"url must be a path on {self.host}, got {url!r}")
        data = body.encode("utf-8") if isinstance(body, str) else body
        reply = self.client.send(method, url, data, list(headers.items()))
        self._response = ConnectionResponse(*reply)

    def getresponse(self) -> ConnectionResponse:
        response, self._response = self._response, None
        if response is None:
            raise http.client.ResponseNotReady("request() first")
        return response

    def close(self) -> None:
        self._response = None
        self.client.close()

    def __repr__(self) -> str:
        return f"<ferrolink.myqtthub.Connection {self.host}>"
