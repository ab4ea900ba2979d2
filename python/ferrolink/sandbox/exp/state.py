"""What every part of the EXP sandbox shares: the lock, the clock, ids and options."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any, Callable

from ..httpserver import HttpEmulator, HttpReply, HttpRequest

__all__ = ["ExpState", "error"]


def error(status: int, code: str, message: str) -> HttpReply:
    return HttpReply.json({"code": code, "message": message}, status)


class ExpState(HttpEmulator):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.clock: Callable[[], float] = time.time
        self.token_ttl = 3600.0
        self.upgrades: list[str] = ["websocket"]
        self.ping_interval = 25000
        self.ping_timeout = 60000
        self.poll_duration = 10.0
        self.deterministic = False
        self.stats: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return self.urls["https"]

    def new_id(self) -> str:
        return f"00000000-0000-4000-8000-{next(self._ids):012d}"

    @staticmethod
    def _json_body(request: HttpRequest, default: Any) -> Any:
        if not request.body:
            return default
        try:
            return request.json()
        except ValueError:
            return None
