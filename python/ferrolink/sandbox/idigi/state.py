"""What the REST side and the push side share: accounts, monitors and event routing.

:class:`IdigiState` is the base of both halves of :class:`~.service.IdigiService`; one
condition variable guards every monitor and wakes the push senders when events arrive.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

from .faults import PushFaults
from .monitors import Monitor, now_iso
from .topics import topic_matches

__all__ = ["IdigiState"]


class IdigiState:
    def __init__(self) -> None:
        super().__init__()
        self.faults = PushFaults()
        self.username = "idigi-user"
        self.password = "idigi-sandbox-pass"
        self.api_key_id = "idigi-key"
        self.api_key_secret = "idigi-sandbox-secret"
        self.cst_id = "42"
        #: ("connect", raw ConnectRequest) / ("ack", raw ack) / ("bad", raw bytes) in arrival order.
        self.received: list[tuple[str, bytes]] = []
        self.protocol_errors: list[str] = []
        self._monitors: dict[int, Monitor] = {}
        self._next_id = 5001
        self._cond = threading.Condition(threading.RLock())

    def monitor(self, monitor_id: int) -> dict[str, str]:
        with self._cond:
            return self._monitors[monitor_id].public(self.cst_id)

    def monitor_ids(self) -> list[int]:
        with self._cond:
            return sorted(self._monitors)

    def publish(
        self,
        event_type: str,
        operation: str = "UPDATE",
        keys: tuple[str, ...] = (),
        body: Optional[dict[str, Any]] = None,
        path: str = "",
    ) -> int:
        """Publish one event to every matching monitor; returns how many matched."""
        msg: dict[str, Any] = {
            "topic": "/".join([self.cst_id, event_type, *keys]),
            "operation": operation,
            "group": "*",
            "timestamp": now_iso(),
            event_type: body if body is not None else {},
        }
        matched = 0
        with self._cond:
            for mon in self._monitors.values():
                if mon.fields.get("monTransportType") != "tcp":
                    continue
                if not any(topic_matches(t, event_type, operation, path) for t in mon.topics()):
                    continue
                matched += 1
                online = mon.connection is not None
                if not online and not (mon.auto_replay or mon.explicit):
                    continue  # nobody listening and nothing persistent: the event is gone
                entry = dict(msg)
                if not online:
                    entry["replay"] = "true"
                if not mon.backlog:
                    mon.queued_at = time.monotonic()
                mon.backlog.append(entry)
            self._cond.notify_all()
        return matched
