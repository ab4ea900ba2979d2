"""Injected replies: HTTP errors, empty or garbage bodies, broken or temporary API answers."""

from __future__ import annotations

from collections import deque
from typing import Optional

from ..httpserver import HttpReply, HttpRequest
from .state import HexonetState

__all__ = ["FaultInjection"]


class FaultInjection(HexonetState):
    def __init__(self) -> None:
        super().__init__()
        self._injected: deque[str] = deque()

    def inject(self, kind: str, count: int = 1) -> None:
        """Queue faults for the next replies: ``status:NNN``, ``empty``, ``garbage``,
        ``no_code``, ``no_description``, ``code:NNN`` (an API reply with that code, e.g. 421),
        ``redirect:NNN`` (a redirect to the same URL)."""
        with self._lock:
            self._injected.extend([kind] * count)

    def _fault_reply(self, fault: str, request: HttpRequest) -> Optional[HttpReply]:
        kind, _, arg = fault.partition(":")
        if kind == "status":
            return HttpReply(int(arg), f"status {arg}", "text/html")
        if kind == "empty":
            return HttpReply(200, b"")
        if kind == "garbage":
            return HttpReply(
                200, "<html><body>Bad Gateway (not an API response)</body></html>", "text/html"
            )
        if kind == "no_code":
            return HttpReply(200, "[RESPONSE]\nDESCRIPTION = Command completed successfully\nEOF\n")
        if kind == "no_description":
            return HttpReply(200, "[RESPONSE]\nCODE = 200\nEOF\n")
        if kind == "code":
            return HttpReply(
                200, self.render(int(arg), "Command failed; temporary error, try again", [], 0)
            )
        if kind == "redirect":
            return HttpReply(int(arg), "moved", headers=[("Location", request.path)])
        return None
