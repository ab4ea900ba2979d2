"""What the parts of the HEXONET sandbox share: options, accounts, data, sessions, one lock."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from ..httpserver import HttpEmulator
from . import wire
from .data import Account, Scope

if TYPE_CHECKING:
    from .sessions import Session

__all__ = ["HexonetState"]


class HexonetState(HttpEmulator):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.portfolio_size = 2500
        self.seed = 1
        self.expired_code = 530
        self.compact = False
        self.crlf = False
        self.lower_keys = False
        self.requests: deque[dict[str, Any]] = deque(maxlen=1000)
        self._accounts: dict[str, dict[str, Account]] = {}
        self._scopes: dict[tuple[str, str], Scope] = {}
        self._sessions: dict[str, Session] = {}
        self._contact_ids = itertools.count(1)

    def render(
        self, code: int, description: str, properties: list[tuple[str, list[str]]], runtime: float
    ) -> str:
        return wire.render(
            code,
            description,
            properties,
            runtime,
            compact=self.compact,
            crlf=self.crlf,
            lower_keys=self.lower_keys,
        )
