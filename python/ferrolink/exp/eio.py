"""Engine.IO v3 / Socket.IO 1.x packets: a codec the EXP client and sandbox share
(what an emulator may share is written once, in :mod:`ferrolink.sandbox`).

Engine.IO packets are strings whose first character is the type (``0`` open ... ``6`` noop).
A Socket.IO packet rides inside an Engine.IO message (``4``): ``40`` connect, ``41``
disconnect, ``42[...]`` event. Polling bodies carry several packets, either in binary framing
(``00 <length digits as bytes 0-9> FF <utf-8>``, what XHR2 clients use) or in text framing
(``<length>:<packet>``, requested with ``b64=1``). Malformed input raises
:class:`ferrolink.errors.ProtocolError` naming what was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import ProtocolError

__all__ = [
    "CLOSE",
    "MESSAGE",
    "NOOP",
    "OPEN",
    "PING",
    "PONG",
    "UPGRADE",
    "SocketIOPacket",
    "decode_payload",
    "decode_socketio",
    "encode_event",
    "encode_payload",
]

OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0", "1", "2", "3", "4", "5", "6"
SIO_CONNECT, SIO_DISCONNECT, SIO_EVENT, SIO_ERROR = "0", "1", "2", "4"

# Longest length prefix accepted: a 10-digit length is already 10 GB.
_MAX_DIGITS = 10


def _snippet(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 80 else text[:77] + "..."


def encode_payload(packets: Sequence[str], *, binary: bool = True) -> bytes:
    """Frame ``packets`` for one polling body (binary framing unless ``binary=False``)."""
    out = bytearray()
    for packet in packets:
        data = packet.encode("utf-8")
        if binary:
            out.append(0)
            out.extend(int(d) for d in str(len(data)))
            out.append(0xFF)
            out.extend(data)
        else:
            # Text framing counts characters, as JavaScript string lengths do for BMP text.
            out.extend(f"{len(packet)}:{packet}".encode())
    return bytes(out)


def decode_payload(body: bytes) -> list[str]:
    """Split one polling body into packets, detecting binary or text framing."""
    if not body:
        return []
    if body[0] in (0, 1):
        return _decode_binary(body)
    return _decode_text(body)


def _decode_binary(body: bytes) -> list[str]:
    packets: list[str] = []
    i, n = 0, len(body)
    while i < n:
        kind = body[i]
        if kind != 0:
            raise ProtocolError(f"Engine.IO payload: unsupported binary packet (type byte {kind})")
        i += 1
        length = 0
        digits = 0
        while i < n and body[i] != 0xFF:
            if body[i] > 9 or digits >= _MAX_DIGITS:
                raise ProtocolError(f"Engine.IO payload: bad length digit at byte {i}")
            length = length * 10 + body[i]
            digits += 1
            i += 1
        if i >= n or digits == 0:
            raise ProtocolError("Engine.IO payload: truncated length prefix")
        i += 1  # the 0xFF separator
        if i + length > n:
            raise ProtocolError(
                f"Engine.IO payload: packet claims {length} bytes, only {n - i} remain"
            )
        try:
            packets.append(body[i : i + length].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"Engine.IO payload: packet is not UTF-8 ({exc})") from None
        i += length
    return packets


def _decode_text(body: bytes) -> list[str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"Engine.IO payload: body is not UTF-8 ({exc})") from None
    packets: list[str] = []
    i, n = 0, len(text)
    while i < n:
        colon = text.find(":", i, i + _MAX_DIGITS + 1)
        prefix = text[i:colon]
        # str.isdigit() also accepts digits int() refuses ("²") or reads non-ASCII ("٣").
        if colon < 0 or not (prefix.isascii() and prefix.isdigit()):
            raise ProtocolError(f"Engine.IO payload: bad length prefix in {_snippet(text[i:])}")
        length = int(prefix)
        start = colon + 1
        if start + length > n:
            raise ProtocolError(
                f"Engine.IO payload: packet claims {length} characters, only {n - start} remain"
            )
        packets.append(text[start : start + length])
        i = start + length
    return packets


def _json(text: str) -> Any:
    """``json.loads``, with nesting too deep for the parser as one more ``ValueError``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def decode_open(packet: str) -> dict[str, Any]:
    """The handshake data of an open packet ``0{...}`` (sid, upgrades, pingInterval...)."""
    if not packet.startswith(OPEN):
        raise ProtocolError(f"Engine.IO: expected an open packet, got {_snippet(packet)}")
    try:
        data = _json(packet[1:])
    except ValueError as exc:
        raise ProtocolError(
            f"Engine.IO: open packet is not JSON ({exc}): {_snippet(packet)}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
        raise ProtocolError(f"Engine.IO: open packet has no sid: {_snippet(packet)}")
    return data


def encode_open(sid: str, upgrades: Sequence[str], ping_interval: int, ping_timeout: int) -> str:
    handshake = {
        "sid": sid,
        "upgrades": list(upgrades),
        "pingInterval": ping_interval,
        "pingTimeout": ping_timeout,
    }
    return OPEN + json.dumps(handshake, separators=(",", ":"))


@dataclass(frozen=True)
class SocketIOPacket:
    """A decoded Socket.IO packet: ``kind`` is connect, disconnect, event or error."""

    kind: str
    name: str = ""
    args: tuple[Any, ...] = ()


def encode_event(name: str, *args: Any) -> str:
    """The Engine.IO message carrying Socket.IO event ``name`` with ``args``."""
    return MESSAGE + SIO_EVENT + json.dumps([name, *args], separators=(",", ":"))


def decode_socketio(packet: str) -> Optional[SocketIOPacket]:
    """Decode the Socket.IO packet inside Engine.IO message ``packet`` (``4...``).

    Returns ``None`` for packet kinds EXP never uses (acks, binary events) so callers can
    ignore them; raises :class:`ProtocolError` for malformed ones.
    """
    if not packet.startswith(MESSAGE) or len(packet) < 2:
        raise ProtocolError(f"Socket.IO: not a message packet: {_snippet(packet)}")
    kind, body = packet[1], packet[2:]
    if body.startswith("/"):  # a namespace other than the default: EXP has none
        return None
    if kind == SIO_CONNECT:
        return SocketIOPacket("connect")
    if kind == SIO_DISCONNECT:
        return SocketIOPacket("disconnect")
    if kind == SIO_ERROR:
        return SocketIOPacket("error", args=(body,))
    if kind != SIO_EVENT:
        return None
    # An event may carry an ack id (digits) before its JSON array.
    body = body.lstrip("0123456789")
    try:
        data = _json(body)
    except ValueError as exc:
        raise ProtocolError(f"Socket.IO: event is not JSON ({exc}): {_snippet(packet)}") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ProtocolError(f"Socket.IO: event is not [name, ...]: {_snippet(packet)}")
    return SocketIOPacket("event", data[0], tuple(data[1:]))
