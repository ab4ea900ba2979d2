"""The server side of RFC 6455 WebSocket, small enough for an emulator.

:func:`accept_headers` answers the upgrade request; :class:`WebSocketConnection` reads and
writes frames on the connection the HTTP server hands over (text frames only, which is all
Engine.IO needs; pings are answered, fragments are reassembled, close is echoed).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import struct
import threading
from typing import BinaryIO, Optional

__all__ = ["WebSocketClosed", "WebSocketConnection", "accept_headers"]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_MESSAGE = 16 * 1024 * 1024
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WebSocketClosed(Exception):
    """The peer closed the connection (or broke the protocol)."""


def accept_headers(key: str) -> list[tuple[str, str]]:
    """Headers of the ``101 Switching Protocols`` answer to ``Sec-WebSocket-Key: key``."""
    digest = hashlib.sha1((key.strip() + _GUID).encode()).digest()
    return [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", base64.b64encode(digest).decode()),
    ]


class WebSocketConnection:
    """One accepted WebSocket; :meth:`send_text` is thread-safe, :meth:`receive` is not."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer
        self._send_lock = threading.Lock()
        self.closed = False

    def _read_exact(self, n: int) -> bytes:
        data = self._reader.read(n) if n else b""
        if len(data) < n:
            raise WebSocketClosed("connection closed mid-frame")
        return data

    def _frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = self._read_exact(2)
        fin, opcode, masked, length = bool(b0 & 0x80), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        if length > _MAX_MESSAGE:
            raise WebSocketClosed(f"frame of {length} bytes is too large")
        if not masked:
            raise WebSocketClosed("client frames must be masked (RFC 6455 5.1)")
        mask = self._read_exact(4)
        data = bytearray(self._read_exact(length))
        for i in range(length):
            data[i] ^= mask[i & 3]
        return fin, opcode, bytes(data)

    def receive(self) -> str:
        """The next text message; raises :class:`WebSocketClosed` when the peer is gone."""
        parts: list[bytes] = []
        while True:
            try:
                fin, opcode, data = self._frame()
            except (OSError, ValueError) as exc:
                raise WebSocketClosed(str(exc)) from None
            if opcode == OP_CLOSE:
                self._send(OP_CLOSE, data[:2])
                raise WebSocketClosed("peer sent close")
            if opcode == OP_PING:
                self._send(OP_PONG, data)
                continue
            if opcode == OP_PONG:
                continue
            parts.append(data)
            if fin:
                try:
                    return b"".join(parts).decode("utf-8")
                except UnicodeDecodeError:
                    raise WebSocketClosed("text frame is not UTF-8") from None

    def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode("utf-8"))

    def _send(self, opcode: int, data: bytes) -> None:
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        with self._send_lock:
            if self.closed:
                raise WebSocketClosed("already closed")
            try:
                self._writer.write(head + data)
                self._writer.flush()
            except (OSError, ValueError) as exc:
                self.closed = True
                raise WebSocketClosed(str(exc)) from None

    def close(self, code: Optional[int] = 1000) -> None:
        if self.closed:
            return
        with contextlib.suppress(WebSocketClosed):
            self._send(OP_CLOSE, struct.pack("!H", code) if code else b"")
        self.closed = True
