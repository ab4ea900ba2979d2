"""The broadcast hub: each broadcast is pushed to every subscribed socket, held open for its
``timeout`` and answered with the responses posted for its id (late responses are dropped)."""

from __future__ import annotations

from typing import Any

from ...exp import eio
from ..httpserver import HttpReply, HttpRequest
from .engineio import EngineIOServer
from .state import error

__all__ = ["BroadcastHub"]


class BroadcastHub(EngineIOServer):
    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[str, list[Any]] = {}

    def _broadcast(self, request: HttpRequest) -> HttpReply:
        try:
            timeout_ms = float(request.query_value("timeout", "0") or 0)
            body = request.json()
        except ValueError:
            return error(400, "broadcast.invalid", "Bad timeout or body.")
        if not isinstance(body, dict) or not isinstance(body.get("channel"), str):
            return error(400, "broadcast.invalid", "A broadcast needs a channel.")
        broadcast_id = self.new_id()
        message = {
            "id": broadcast_id,
            "channel": body["channel"],
            "name": body.get("name"),
            "payload": body.get("payload"),
        }
        packet = eio.encode_event("broadcast", message)
        self._reap()
        with self.lock:
            self._pending[broadcast_id] = []
            targets = [s for s in self._sockets.values() if body["channel"] in s.channels]
        self.stats["broadcast"] += 1
        for sock in targets:
            sock.push(packet)
        self._stopping.wait(min(max(timeout_ms, 0.0), 60000.0) / 1000)
        with self.lock:
            responses = self._pending.pop(broadcast_id, [])
        return HttpReply.json(responses)

    def _respond(self, request: HttpRequest) -> HttpReply:
        body = self._json_body(request, default=None)
        if not isinstance(body, dict):
            return error(400, "response.invalid", "A response must be an object.")
        with self.lock:
            pending = self._pending.get(str(body.get("id")))
            if pending is not None:  # late responses are dropped, as on EXP
                pending.append(body.get("payload"))
        return HttpReply.json({})
