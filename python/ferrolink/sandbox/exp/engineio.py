"""Engine.IO v3 at ``/socket.io/``: long polling and the WebSocket upgrade on the same port.

Polling uses binary framing (text with ``b64=1``), with ``40`` sent in a later poll; the
upgrade is ``2probe``/``3probe``/``5``. Each session keeps its queue and its subscriptions.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional

from ...errors import ProtocolError
from ...exp import eio
from ..httpserver import HttpReply, HttpRequest
from ..wsserver import WebSocketClosed, WebSocketConnection, accept_headers
from .auth import Auth
from .state import error

__all__ = ["EngineIOServer", "Socket"]


@dataclass
class Socket:
    """One Engine.IO session: outgoing queue, subscriptions and its transport."""

    sid: str
    last_seen: float
    queue: deque[str] = field(default_factory=deque)
    channels: set[str] = field(default_factory=set)
    ws: Optional[WebSocketConnection] = None
    upgraded: bool = False
    closed: bool = False
    cond: threading.Condition = field(default_factory=threading.Condition)

    def push(self, packet: str) -> None:
        with self.cond:
            if self.closed:
                return
            if self.upgraded and self.ws is not None:
                try:
                    self.ws.send_text(packet)
                except WebSocketClosed:
                    self.closed = True
                return
            self.queue.append(packet)
            self.cond.notify_all()

    def take(self, wait: float) -> list[str]:
        """Queued packets for a long poll: waits up to ``wait`` s, then a noop."""
        with self.cond:
            if not self.queue and not self.closed and not self.upgraded:
                self.cond.wait(wait)
            if self.closed:
                return [eio.CLOSE]
            if self.upgraded or not self.queue:
                return [eio.NOOP]
            packets = list(self.queue)
            self.queue.clear()
            return packets

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        if self.ws is not None:
            self.ws.close()


class EngineIOServer(Auth):
    def __init__(self) -> None:
        super().__init__()
        self._sockets: dict[str, Socket] = {}

    def drop_sockets(self) -> int:
        """Close every Engine.IO connection (clients must reconnect and resubscribe)."""
        with self.lock:
            sockets = list(self._sockets.values())
            self._sockets.clear()
        for sock in sockets:
            sock.close()
        return len(sockets)

    def inject_packet(self, packet: str) -> int:
        """Send a raw Engine.IO packet (e.g. a malformed one) to every open socket."""
        with self.lock:
            sockets = list(self._sockets.values())
        for sock in sockets:
            sock.push(packet)
        return len(sockets)

    def socket_count(self) -> int:
        with self.lock:
            return len(self._sockets)

    def _reap(self) -> None:
        """Forget sockets silent for longer than a ping interval plus the ping timeout."""
        limit = time.monotonic() - (self.ping_interval + self.ping_timeout) / 1000
        with self.lock:
            dead = [s for s in self._sockets.values() if s.last_seen < limit and s.ws is None]
            for sock in dead:
                del self._sockets[sock.sid]
        for sock in dead:
            sock.close()

    def _socketio(self, request: HttpRequest) -> HttpReply:
        if request.query_value("EIO") != "3":
            return error(400, "eio.unsupported", "Only Engine.IO v3 (EIO=3) is spoken here.")
        if self._valid(request.query_value("token")) is None:
            self.stats["socket_unauthorized"] += 1
            return error(401, "authentication.required", "A valid token is required.")
        transport = request.query_value("transport")
        sid = request.query_value("sid")
        if transport == "websocket":
            return self._websocket(request, sid)
        if transport != "polling":
            return error(400, "eio.transport", f"Unknown transport {transport!r}.")
        binary = request.query_value("b64") != "1"
        if sid is None:
            if request.method != "GET":
                return error(400, "eio.handshake", "The handshake is a GET.")
            sock = self._open_socket()
            # 40 goes out in a later poll: socketIO-client 0.7 reads only the first packet.
            sock.push(eio.MESSAGE + "0")
            return self._poll_reply([self._open_packet(sock)], binary)
        with self.lock:
            sock_or_none = self._sockets.get(sid)
        if sock_or_none is None:
            return error(400, "eio.session", "Session ID unknown.")
        sock = sock_or_none
        sock.last_seen = time.monotonic()
        if request.method == "GET":
            packets = sock.take(self.poll_duration)
            if packets == [eio.CLOSE]:
                self._forget(sock)
            return self._poll_reply(packets, binary)
        if request.method == "POST":
            try:
                packets = eio.decode_payload(request.body)
            except ProtocolError as exc:
                return HttpReply(400, str(exc))
            for packet in packets:
                self._incoming(sock, packet)
            return HttpReply(200, "ok")
        return error(405, "method.notAllowed", "Polling is GET or POST.")

    def _open_socket(self) -> Socket:
        sid = secrets.token_hex(10)
        sock = Socket(sid, time.monotonic())
        with self.lock:
            self._sockets[sid] = sock
        self.stats["socket_open"] += 1
        return sock

    def _open_packet(self, sock: Socket) -> str:
        return eio.encode_open(sock.sid, self.upgrades, self.ping_interval, self.ping_timeout)

    def _forget(self, sock: Socket) -> None:
        with self.lock:
            if self._sockets.get(sock.sid) is sock:
                del self._sockets[sock.sid]
        sock.close()

    @staticmethod
    def _poll_reply(packets: list[str], binary: bool) -> HttpReply:
        ctype = "application/octet-stream" if binary else "text/plain; charset=UTF-8"
        return HttpReply(200, eio.encode_payload(packets, binary=binary), ctype)

    def _incoming(self, sock: Socket, packet: str) -> None:
        sock.last_seen = time.monotonic()
        if packet == eio.PING:
            sock.push(eio.PONG)
        elif packet == eio.CLOSE:
            self._forget(sock)
        elif packet.startswith(eio.MESSAGE):
            try:
                decoded = eio.decode_socketio(packet)
            except ProtocolError as exc:
                self.log.warning("exp sandbox: %s", exc)
                return
            if decoded and decoded.kind == "event" and decoded.name == "subscribe":
                ids = decoded.args[0] if decoded.args else []
                ids = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
                with self.lock:
                    sock.channels.update(ids)
                sock.push(eio.encode_event("subscribed", ids))

    def _websocket(self, request: HttpRequest, sid: Optional[str]) -> HttpReply:
        if "websocket" not in self.upgrades:
            return error(400, "eio.transport", "This server is polling only.")
        key = request.header("Sec-WebSocket-Key")
        if (request.header("Upgrade") or "").lower() != "websocket" or not key:
            return error(400, "eio.upgrade", "Expected a WebSocket upgrade.")
        if sid is None:
            sock = self._open_socket()
            fresh = True
        else:
            with self.lock:
                existing = self._sockets.get(sid)
            if existing is None:
                return error(400, "eio.session", "Session ID unknown.")
            sock, fresh = existing, False

        def serve(reader: Any, writer: Any) -> None:
            ws = WebSocketConnection(reader, writer)
            sock.ws = ws
            try:
                if fresh:  # a direct WebSocket connection: handshake and connect right away
                    ws.send_text(self._open_packet(sock))
                    with sock.cond:
                        sock.upgraded = True
                    ws.send_text(eio.MESSAGE + "0")
                while not sock.closed:
                    packet = ws.receive()
                    if packet == eio.PING + "probe":
                        ws.send_text(eio.PONG + "probe")
                    elif packet == eio.UPGRADE:
                        self._finish_upgrade(sock, ws)
                    else:
                        self._incoming(sock, packet)
            except WebSocketClosed:
                pass
            finally:
                self._forget(sock)

        return HttpReply(101, b"", headers=accept_headers(key), takeover=serve)

    @staticmethod
    def _finish_upgrade(sock: Socket, ws: WebSocketConnection) -> None:
        # Flush what polling had queued, in order, then switch pushes to the WebSocket.
        with sock.cond:
            for packet in sock.queue:
                ws.send_text(packet)
            sock.queue.clear()
            sock.upgraded = True
            sock.cond.notify_all()
