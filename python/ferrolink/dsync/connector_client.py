"""Driving a DSYNC connector as the DSYNC platform does: fetch its layout, call its endpoints.

Use it to check a connector (for example one built with :class:`~ferrolink.dsync.Connector`)
before DSYNC does; the sandbox uses it to register a connector's layout.
"""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import urljoin

from ..closing import ClosesOnExit
from ..errors import FerrolinkError
from ..http import Client
from .rules import envelope_problems

__all__ = ["ConnectorClient", "PlatformError"]


class PlatformError(FerrolinkError):
    """The platform (DSYNC, or the sandbox acting as it) rejected a connector or its layout.

    ``problems`` lists why.
    """

    def __init__(self, message: str, problems: Optional[list[str]] = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class ConnectorClient(ClosesOnExit):
    """What DSYNC does against a connector: ``GET /datalayout``, then the entity endpoints.

    Entity calls are pluggable (:meth:`call`): DSYNC's methods and pagination there are not
    documented, so a test chooses them. ``ca_file`` is trusted on top of the system roots.
    """

    def __init__(
        self,
        base_url: str,
        auth_token: str,
        *,
        ca_file: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth_token = auth_token
        self._client = Client(timeout=timeout, read_timeout=timeout, ca_file=ca_file)
        self.layout: dict[str, Any] = {}

    def close(self) -> None:
        self._client.close()

    def _http(
        self,
        method: str,
        url: str,
        body: Optional[bytes] = None,
        extra: Optional[dict[str, str]] = None,
    ) -> tuple[int, Any]:
        headers = {
            "Content-Type": "application/json",
            "Auth-Token": self._auth_token,
            **(extra or {}),
        }
        try:
            reply = self._client.request(method, url, headers=headers, body=body)
        except FerrolinkError as exc:
            raise PlatformError(f"{method} {url} failed: {exc}") from exc
        status, raw = reply.status, reply.body
        try:
            return status, json.loads(raw) if raw else None
        except ValueError as exc:
            raise PlatformError(
                f"{method} {url} answered {status} with a body that is not JSON"
            ) from exc

    def fetch_layout(self) -> dict[str, Any]:
        """``GET {connector}/datalayout``; the validated ``data`` or :class:`PlatformError`."""
        url = self.base_url + "/datalayout"
        status, envelope = self._http("GET", url)
        if status != 200:
            raise _rejected("GET", url, status, envelope)
        problems = envelope_problems(envelope)
        if problems:
            raise PlatformError(
                "the connector's data layout is invalid: " + "; ".join(problems), problems
            )
        self.layout = envelope["data"]
        return self.layout

    def endpoint(self, entity: str) -> dict[str, Any]:
        """The layout endpoint whose entity name or token is ``entity``."""
        for endpoint in self.layout.get("data_layout", []):
            if entity in (endpoint.get("entity_name"), endpoint.get("entity_token")):
                return dict(endpoint)
        raise PlatformError(f"the connector's layout has no entity {entity!r}")

    def entity_url(self, entity: str) -> str:
        """The endpoint URL, resolved against the connector base when relative."""
        return urljoin(self.base_url + "/", str(self.endpoint(entity)["endpoint_url"]))

    def call(
        self,
        entity: str,
        method: str = "GET",
        data: Any = None,
        entity_id: Optional[str] = None,
    ) -> Any:
        """Call an entity endpoint; returns the reply envelope's ``data``."""
        url = self.entity_url(entity)
        body = None if data is None else json.dumps(data).encode()
        extra = {} if entity_id is None else {"Entity-Id": entity_id}
        status, envelope = self._http(method, url, body, extra)
        if not 200 <= status < 300:
            raise _rejected(method, url, status, envelope)
        return envelope.get("data") if isinstance(envelope, dict) else envelope


def _rejected(method: str, url: str, status: int, envelope: Any) -> PlatformError:
    message = envelope.get("message") if isinstance(envelope, dict) else None
    return PlatformError(f"{method} {url} answered {status}: {message or 'no message'}")
