"""A framework-agnostic DSYNC connector: a small WSGI app.

It serves ``GET /datalayout`` (the layout in the ``{status, message, detail, data}``
envelope) and routes the entity endpoints of the layout to your callbacks, checking
``Auth-Token`` on every request (401 otherwise). Mount it in any WSGI server or framework::

    connector = Connector(layout, auth_token="the DSYNC API key")

    @connector.route("/entity/product", methods=["GET"])
    def list_products(request):
        return [{"sku": "ABC-123"}]

    wsgiref.simple_server.make_server("", 8080, connector).serve_forever()

A callback receives a :class:`ConnectorRequest` and returns the ``data`` of the reply (any
JSON value); raise :class:`ConnectorError` to answer with an error status and message.

Entity endpoint semantics beyond the layout are not documented by DSYNC; this
helper keys nothing itself: the delete id arrives as ``request.entity_id`` (the
``Entity-Id`` header, by analogy with the realtime API).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qs, urlsplit

from .data_layout import DataLayout, ValidationException, layout_envelope

__all__ = ["Connector", "ConnectorError", "ConnectorRequest"]

log = logging.getLogger("ferrolink.dsync")

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}
MAX_BODY = 16 * 1024 * 1024


class ConnectorError(Exception):
    """Raise from a callback to answer ``status`` with ``message`` (and optional ``detail``)."""

    def __init__(self, status: int, message: str, detail: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.detail = {} if detail is None else detail


@dataclass
class ConnectorRequest:
    """One request DSYNC made to an entity endpoint."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    environ: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def entity_id(self) -> Optional[str]:
        return self.headers.get("entity-id")

    def json(self) -> Any:
        """The body as JSON (None when empty); a 400 reply when it does not parse."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ConnectorError(400, f"the request body is not valid JSON: {exc}") from exc


Handler = Callable[[ConnectorRequest], Any]
LayoutSource = Union[
    DataLayout, Mapping[str, Any], Callable[[], Union[DataLayout, Mapping[str, Any]]]
]
StartResponse = Callable[..., Any]


class Connector:
    """The WSGI app. ``layout`` is a :class:`DataLayout`, its generated dict, or a callable
    returning either (called per request, so the layout may change). ``auth_token`` is the
    DSYNC API key (or several, while rotating keys)."""

    def __init__(
        self,
        layout: LayoutSource,
        auth_token: Union[str, Iterable[str]],
        *,
        path: str = "/datalayout",
    ) -> None:
        tokens = [auth_token] if isinstance(auth_token, str) else list(auth_token)
        if not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("auth_token must be a non-empty string (or a list of them)")
        self._tokens = [t.encode() for t in tokens]
        self._layout = layout
        self.layout_path = path
        self._routes: dict[str, dict[str, Handler]] = {}

    def route(self, path: str, methods: Iterable[str] = ("GET",)) -> Callable[[Handler], Handler]:
        """Decorator: call the function for ``methods`` on ``path`` (an ``endpoint_url``)."""

        def register(handler: Handler) -> Handler:
            self.add_route(path, handler, methods)
            return handler

        return register

    def add_route(self, path: str, handler: Handler, methods: Iterable[str] = ("GET",)) -> None:
        route = urlsplit(path).path or "/"  # absolute endpoint URLs route by their path
        for method in methods:
            self._routes.setdefault(route, {})[method.upper()] = handler

    def generate_layout(self) -> dict[str, Any]:
        """The envelope served on ``GET /datalayout`` (validated)."""
        source = self._layout() if callable(self._layout) else self._layout
        return layout_envelope(source)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            envelope = self._dispatch(environ)
        except ConnectorError as exc:
            envelope = _envelope(exc.status, exc.message, None, exc.detail)
        except Exception:
            log.exception("connector callback failed")
            envelope = _envelope(500, _REASONS[500], None)
        status = int(envelope["status"])
        payload = json.dumps(envelope).encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _dispatch(self, environ: dict[str, Any]) -> dict[str, Any]:
        if not self._authorised(str(environ.get("HTTP_AUTH_TOKEN", ""))):
            raise ConnectorError(401, "Unauthorized")
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = environ.get("PATH_INFO") or "/"
        if path == self.layout_path:
            if method != "GET":
                raise ConnectorError(405, f"{path} answers GET only")
            try:
                return self.generate_layout()
            except ValidationException as exc:
                log.error("the connector's data layout is invalid: %s", exc)
                raise ConnectorError(
                    500, "the data layout is invalid", {"errors": exc.errors}
                ) from exc
        handlers = self._routes.get(path)
        if handlers is None:
            raise ConnectorError(404, f"no entity endpoint at {path}")
        handler = handlers.get(method)
        if handler is None:
            raise ConnectorError(405, f"{path} does not answer {method}")
        return _envelope(200, "OK", handler(_request(environ, method, path)))

    def _authorised(self, given: str) -> bool:
        supplied = given.encode("latin-1", errors="replace")
        # compare_digest against every key: no early exit that would leak which one matched.
        return any([hmac.compare_digest(supplied, token) for token in self._tokens])


def _envelope(status: int, message: str, data: Any, detail: Any = None) -> dict[str, Any]:
    return {
        "status": status,
        "message": message,
        "detail": {} if detail is None else detail,
        "data": data,
    }


def _request(environ: dict[str, Any], method: str, path: str) -> ConnectorRequest:
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise ConnectorError(400, "bad Content-Length") from exc
    if length > MAX_BODY:
        raise ConnectorError(413, f"the body exceeds {MAX_BODY} bytes")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return ConnectorRequest(
        method=method,
        path=path,
        query=parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True),
        headers=headers,
        body=body,
        environ=environ,
    )
