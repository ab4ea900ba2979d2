"""The iDigi push protocol's messages: one codec, two ways, shared by the client and the sandbox.

What an emulator may share with a client is written once, in :mod:`ferrolink.sandbox`.

Framing, inflating and encoding run in Rust (``ferrolink._core``); this module gives them typed
Python faces. All integers are big-endian; every message starts with type (u16) and size (u32).

>>> encode_ack(0x01A7).hex()
'00040000000401a700c8'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, Union

from .. import _core
from ..errors import InvalidArgumentError, ProtocolError

__all__ = [
    "COMPRESSION_NONE",
    "COMPRESSION_ZLIB",
    "CONNECTION_REQUEST",
    "CONNECTION_RESPONSE",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_INFLATED_PER_FEED",
    "DEFAULT_MAX_PAYLOAD_SIZE",
    "FORMAT_JSON",
    "FORMAT_XML",
    "PUBLISH_MESSAGE",
    "PUBLISH_MESSAGE_RECEIVED",
    "STATUS_BAD_REQUEST",
    "STATUS_OK",
    "STATUS_UNAUTHORIZED",
    "ConnectionRequest",
    "ConnectionResponse",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "PublishMessage",
    "PublishMessageReceived",
    "UnknownMessage",
    "encode_ack",
    "encode_connection_request",
    "encode_connection_response",
    "encode_publish_message",
    "json_document",
    "split_messages",
    "xml_document",
]

CONNECTION_REQUEST = 0x0001
CONNECTION_RESPONSE = 0x0002
PUBLISH_MESSAGE = 0x0003
PUBLISH_MESSAGE_RECEIVED = 0x0004
STATUS_OK = 200
STATUS_BAD_REQUEST = 400
STATUS_UNAUTHORIZED = 403
COMPRESSION_NONE = 0
COMPRESSION_ZLIB = 1
FORMAT_XML = 0
FORMAT_JSON = 1
#: Largest frame accepted (the header's size field, 64 MiB); a bigger one fails the stream.
DEFAULT_MAX_FRAME_SIZE = _core.IDIGI_DEFAULT_MAX_FRAME_SIZE
#: Largest inflated payload of one frame (64 MiB). Real blocks hold at most ``monBatchSize``
#: messages (100 by default), the biggest being FileData events of up to 120 KB (about 170 KB
#: in the envelope): some 17 MB. 64 MiB leaves four times that and matches the frame cap.
DEFAULT_MAX_PAYLOAD_SIZE = _core.IDIGI_DEFAULT_MAX_PAYLOAD_SIZE
#: Inflated bytes one ``feed`` call may produce (256 MiB); later frames wait for the next call.
#: With the defaults, a feed full of decompression bombs peaks at about 0.5 GiB, frames
#: returned included.
DEFAULT_MAX_INFLATED_PER_FEED = _core.IDIGI_DEFAULT_MAX_INFLATED_PER_FEED
_MAX_SIZE = (1 << 63) - 1


@dataclass(frozen=True)
class ConnectionRequest:
    version: int
    username: str
    password: str = field(repr=False)
    monitor_id: int
    type: int = CONNECTION_REQUEST


@dataclass(frozen=True)
class ConnectionResponse:
    status: int
    version: int
    type: int = CONNECTION_RESPONSE


#: One block of events (``block_id``, ``count``, ``compression``, ``format``, ``payload``,
#: ``type``, and the ``text`` / ``is_json`` properties); ``payload`` is already decompressed.
#: A frozen class built in Rust, so decoding a frame runs no Python code.
PublishMessage = _core.IdigiPublishMessage


@dataclass(frozen=True)
class PublishMessageReceived:
    block_id: int
    status: int
    type: int = PUBLISH_MESSAGE_RECEIVED


@dataclass(frozen=True)
class UnknownMessage:
    """A message type the protocol does not define; its body was skipped exactly."""

    message_type: int
    size: int


Frame = Union[
    ConnectionRequest, ConnectionResponse, PublishMessage, PublishMessageReceived, UnknownMessage
]


class FrameError(ProtocolError):
    """Malformed input. ``frames`` holds the good frames decoded in the same ``feed`` call."""

    def __init__(self, message: str, frames: list[Frame], errors: list[str]) -> None:
        super().__init__(message)
        self.frames = frames
        self.errors = errors


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes as they arrive, get back every completed frame.

    Reassembly is linear in the stream length for any chunk size, and memory follows the bytes
    that arrived: a header announcing a big frame reserves nothing. A malformed frame raises
    :class:`FrameError` (a :class:`ferrolink.errors.ProtocolError`) after the whole chunk was
    processed; frames whose header was sound keep the stream aligned, while an unacceptable
    header (oversized, impossible size) or memory running out makes every later ``feed`` fail.

    Limits: ``max_frame_size`` per frame on the wire, ``max_payload_size`` per inflated payload
    (more is a :class:`FrameError` for that frame: decompression bombs), and
    ``max_inflated_per_feed`` inflated bytes per ``feed`` call. Frames past that budget are not
    lost: they stay in the decoder, in order, and come first out of the next call;
    :attr:`backlog` counts them and ``feed(b"")`` drains them, one budget per call.
    """

    def __init__(
        self,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        max_inflated_per_feed: int = DEFAULT_MAX_INFLATED_PER_FEED,
    ) -> None:
        for name, value in (
            ("max_frame_size", max_frame_size),
            ("max_payload_size", max_payload_size),
            ("max_inflated_per_feed", max_inflated_per_feed),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_SIZE:
                raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
        self._native = _core.IdigiFrameDecoder(
            (ConnectionRequest, ConnectionResponse, PublishMessageReceived, UnknownMessage),
            max_frame_size,
            max_payload_size,
            max_inflated_per_feed,
        )

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held."""
        return self._native.buffered

    @property
    def backlog(self) -> int:
        """Complete frames held back by the inflate budget (``feed(b"")`` returns them)."""
        return self._native.backlog

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> list[Frame]:
        frames, errors = self._native.feed(data if type(data) is bytes else bytes(data))
        if errors:
            raise FrameError("; ".join(errors), frames, errors)
        return frames


def _check_range(name: str, value: int, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise InvalidArgumentError(f"{name} must be an integer from 0 to {(1 << bits) - 1}")
    return value


def encode_connection_request(username: str, password: str, monitor_id: int) -> bytes:
    """ConnectRequest: protocol version 1, UTF-8 credentials with byte lengths, u32 monitor id."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidArgumentError("username and password must be str")
    return _core.idigi_encode_connection_request(
        username, password, _check_range("monitor_id", monitor_id, 32)
    )


def encode_connection_response(status: int = STATUS_OK, version: int = 1) -> bytes:
    return _core.idigi_encode_connect_response(
        _check_range("status", status, 16), _check_range("version", version, 16)
    )


def encode_ack(block_id: int, status: int = STATUS_OK) -> bytes:
    """The documented 10-byte PublishMessageReceived ``0004 00000004 <block id> <status>``."""
    return _core.idigi_encode_ack(
        _check_range("block_id", block_id, 16), _check_range("status", status, 16)
    )


def encode_publish_message(
    block_id: int,
    payload: Union[bytes, str],
    *,
    count: int = 1,
    compression: int = COMPRESSION_NONE,
    format: int = FORMAT_JSON,
    raw: bool = False,
) -> bytes:
    """PublishMessage; compresses with zlib when ``compression`` is 1 (unless ``raw``)."""
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    for name, value in (("compression", compression), ("format", format)):
        _check_range(name, value, 8)
    return _core.idigi_encode_publish(
        _check_range("block_id", block_id, 16),
        _check_range("count", count, 16),
        compression,
        format,
        data,
        raw,
    )


# --- payload envelopes --------------------------------------------------------------------


def json_document(messages: Sequence[dict[str, Any]], list_for_one: bool = False) -> str:
    """``{"Document": {"Msg": ...}}``: one object for one message, else a list."""
    msg: Any = messages[0] if len(messages) == 1 and not list_for_one else list(messages)
    return json.dumps({"Document": {"Msg": msg}}, separators=(",", ":"))


def _xml_value(name: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_xml_value(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        return "".join(_xml_value(name, v) for v in value)
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return f"<{name}>{escape(text, quote=False)}</{name}>"


_ATTRIBUTES = ("topic", "operation", "group", "timestamp", "replay")


def xml_document(messages: Sequence[dict[str, Any]]) -> str:
    """``<Document>`` with one ``<Msg topic= operation= timestamp=>`` per message."""
    # Imported here: xml.sax.saxutils imports urllib.request (~14 ms), which the push
    # client never needs.
    from xml.sax.saxutils import quoteattr

    parts = ["<Document>"]
    for msg in messages:
        attrs = "".join(f" {k}={quoteattr(str(msg[k]))}" for k in _ATTRIBUTES if k in msg)
        body = "".join(_xml_value(k, v) for k, v in msg.items() if k not in _ATTRIBUTES)
        parts.append(f"<Msg{attrs}>{body}</Msg>")
    parts.append("</Document>")
    return "".join(parts)


def split_messages(document: Any) -> list[Any]:
    """The ``Msg`` entries of a decoded JSON document, as a list (one object or a list)."""
    if isinstance(document, dict):
        inner = document.get("Document", document)
        msg = inner.get("Msg") if isinstance(inner, dict) else None
        if isinstance(msg, list):
            return msg
        if msg is not None:
            return [msg]
    return [document]
