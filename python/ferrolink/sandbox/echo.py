"""The echo service: proves TLS, the pool and fault injection end to end.

Routes (any method unless noted):

- ``/echo``: JSON describing the request; ``id`` echoes the ``X-Request-Id`` header.
- ``/bytes/N``: N bytes of a fixed pattern (``bytes(range(256))`` repeated).
- ``/delay/MS``: answers after MS milliseconds.
- ``/count``: counts requests per method (and per ``X-Request-Id``); ``GET /stats`` reports
  the counts per method.
- ``/status/CODE``: answers with that status.
- ``/redirect/CODE/N``: a CODE redirect to ``/redirect/CODE/N-1``, and from N = 0 to ``/echo``;
  ``/redirect/CODE/loop`` redirects to itself.

``close_idle_connections()`` models a server closing idle keep-alive connections: it closes
only connections that answered a request and wait for the next one. A request that arrives
on a connection the moment it is closed is dropped unanswered, never handled.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from .httpserver import HttpEmulator, HttpReply, HttpRequest

__all__ = ["EchoService", "pattern_bytes"]

_PATTERN = bytes(range(256))


def pattern_bytes(n: int) -> bytes:
    """The body ``/bytes/N`` serves, for comparison in tests."""
    whole, rest = divmod(n, len(_PATTERN))
    return _PATTERN * whole + _PATTERN[:rest]


class EchoService(HttpEmulator):
    name = "echo"
    serve_plain = True

    def __init__(self) -> None:
        super().__init__()
        self._counts: Counter[str] = Counter()
        self._ids: Counter[str] = Counter()
        self._lock = threading.Lock()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def counts_by_id(self) -> dict[str, int]:
        """How often ``/count`` handled each ``X-Request-Id`` (requests without one: ``""``)."""
        with self._lock:
            return dict(self._ids)

    def handle(self, request: HttpRequest) -> HttpReply:
        parts = [p for p in request.path.split("/") if p]
        route = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        if route == "echo":
            request_id = request.header("X-Request-Id", "")
            return HttpReply.json(
                {
                    "id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "length": len(request.body),
                    "body": request.body.decode("latin-1") if len(request.body) <= 65536 else None,
                    "content_type": request.header("Content-Type"),
                    "user_agent": request.header("User-Agent"),
                },
                headers=[("X-Request-Id", request_id or "")],
            )
        if route == "bytes" and arg.isdigit():
            return HttpReply(200, pattern_bytes(int(arg)), "application/octet-stream")
        if route == "delay" and arg.isdigit():
            time.sleep(int(arg) / 1000)
            return HttpReply(200, f"slept {arg} ms")
        if route == "count":
            with self._lock:
                self._counts[request.method] += 1
                self._ids[request.header("X-Request-Id", "") or ""] += 1
            return HttpReply(200, "counted")
        if route == "stats":
            return HttpReply.json(self.counts())
        if route == "status" and arg.isdigit():
            return HttpReply(int(arg), f"status {arg}")
        if route == "redirect" and arg.isdigit() and len(parts) == 3:
            hops = parts[2]
            if hops == "loop":
                target = request.path
            elif hops.isdigit():
                target = f"/redirect/{arg}/{int(hops) - 1}" if int(hops) > 0 else "/echo"
            else:
                return HttpReply(404, f"no route {request.path}")
            return HttpReply(int(arg), f"see {target}", headers=[("Location", target)])
        return HttpReply(404, f"no route {request.path}")
