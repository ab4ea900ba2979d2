"""iDigi push protocol: the frame decoder, the client's encoders and inflate, over libferrolink.

Names, fields and values are those of ``ferrolink.idigi.codec``:

>>> FrameDecoder().feed(encode_ack(0x01A7))
[PublishMessageReceived(block_id=423, status=200, type=4)]
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple, Union

from ._abi import check, consume, ffi, lib
from .errors import InvalidArgumentError, ProtocolError

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
    "STATUS_OK",
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
    "encode_publish_message",
    "inflate",
]

CONNECTION_REQUEST = 0x0001
CONNECTION_RESPONSE = 0x0002
PUBLISH_MESSAGE = 0x0003
PUBLISH_MESSAGE_RECEIVED = 0x0004
STATUS_OK = 200
COMPRESSION_NONE = 0
COMPRESSION_ZLIB = 1
FORMAT_XML = 0
FORMAT_JSON = 1
_limits = lib.fl_idigi_limits_default()
#: Largest frame accepted (the header's size field); a bigger one fails the stream.
DEFAULT_MAX_FRAME_SIZE: int = _limits.max_frame_size
#: Largest inflated payload of one frame; a bigger one is a :class:`FrameError` for that frame.
DEFAULT_MAX_PAYLOAD_SIZE: int = _limits.max_payload_size
#: Inflated bytes one ``feed`` call may produce; later frames wait for the next call.
DEFAULT_MAX_INFLATED_PER_FEED: int = _limits.max_inflated_per_feed
del _limits
_MAX_SIZE = (1 << 63) - 1


class ConnectionRequest(NamedTuple):
    version: int
    username: str
    password: str
    monitor_id: int
    type: int = CONNECTION_REQUEST

    def __repr__(self) -> str:
        # The password never appears in a repr.
        return (
            f"ConnectionRequest(version={self.version}, username={self.username!r}, "
            f"monitor_id={self.monitor_id}, type={self.type})"
        )


class ConnectionResponse(NamedTuple):
    status: int
    version: int
    type: int = CONNECTION_RESPONSE


def _field(index: int) -> Any:
    return property(lambda self: self._fields[index])


class PublishMessage:
    """One block of events; ``payload`` is already decompressed.

    A decoded frame holds its payload as a range of a bytes object the decoder made no copy
    of (the data fed, for an uncompressed payload that arrived whole) or one copy per feed
    (the rest), and ``payload`` slices it out when read: decoding copies no payload, and a
    frame keeps that object alive as long as the frame lives.
    """

    # block_id, count, compression, format, then the payload as (bytes, start, end): one
    # tuple, so building a frame is one allocation and the frame stays immutable.
    __slots__ = ("_fields",)
    _fields: tuple[int, int, int, int, bytes, int, int]
    block_id: int = _field(0)
    count: int = _field(1)
    compression: int = _field(2)
    format: int = _field(3)
    type = PUBLISH_MESSAGE

    def __init__(self, block_id: int, count: int, compression: int, format: int, payload: bytes):
        data = bytes(payload)
        _set(self, "_fields", (block_id, count, compression, format, data, 0, len(data)))

    @property
    def payload(self) -> bytes:
        _, _, _, _, data, start, end = self._fields
        return data if start == 0 and end == len(data) else data[start:end]

    @property
    def text(self) -> str:
        """The payload decoded as UTF-8 (raises ``UnicodeDecodeError`` if it is not)."""
        return self.payload.decode("utf-8")

    @property
    def is_json(self) -> bool:
        return self.format == FORMAT_JSON

    def _key(self) -> tuple[int, int, int, int, bytes]:
        return (*self._fields[:4], self.payload)

    def __eq__(self, other: object) -> bool:
        if type(other) is not PublishMessage:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = zip(("block_id", "count", "compression", "format", "payload"), self._key())
        return f"PublishMessage({', '.join(f'{k}={v!r}' for k, v in fields)}, type={self.type})"

    def __reduce__(self) -> tuple[Any, tuple[int, int, int, int, bytes]]:
        return (PublishMessage, self._key())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PublishMessage is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"PublishMessage is immutable: cannot delete {name!r}")


_set = object.__setattr__
_new = object.__new__


def _publish(e: Any, data: bytes) -> PublishMessage:
    """A PublishMessage whose payload is entry ``e``'s payload span of ``data``."""
    frame = _new(PublishMessage)
    span = e.payload
    start = span.offset
    _set(
        frame,
        "_fields",
        (e.block_id, e.count, e.compression, e.format, data, start, start + span.len),
    )
    return frame


class PublishMessageReceived(NamedTuple):
    block_id: int
    status: int
    type: int = PUBLISH_MESSAGE_RECEIVED


class UnknownMessage(NamedTuple):
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


def _text(held: bytes, span: Any) -> str:
    return held[span.offset : span.offset + span.len].decode("utf-8")


def _frame(e: Any, held: bytes) -> Frame:
    """Any frame but a PublishMessage, from its batch entry."""
    kind = e.message_type
    if kind == PUBLISH_MESSAGE_RECEIVED:
        return PublishMessageReceived(e.block_id, e.status)
    if kind == CONNECTION_RESPONSE:
        return ConnectionResponse(e.status, e.version)
    if kind == CONNECTION_REQUEST:
        user, password = _text(held, e.username), _text(held, e.password)
        return ConnectionRequest(e.version, user, password, e.monitor_id)
    return UnknownMessage(kind, e.size)


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes as they arrive, get back every completed frame.

    Reassembly is linear in the stream length for any chunk size. A malformed frame raises
    :class:`FrameError` (a :class:`ferrolink_ffi.errors.ProtocolError`) after the whole chunk
    was processed; frames whose header was sound keep the stream aligned, while an unacceptable
    header (oversized, impossible size) makes every later ``feed`` fail too.

    Limits, as in ``ferrolink``: ``max_frame_size`` per frame on the wire, ``max_payload_size``
    per inflated payload, ``max_inflated_per_feed`` inflated bytes per ``feed`` call; frames
    past that budget stay in the decoder (:attr:`backlog`) and ``feed(b"")`` drains them.
    """

    def __init__(
        self,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        max_inflated_per_feed: int = DEFAULT_MAX_INFLATED_PER_FEED,
    ) -> None:
        limits = [max_frame_size, max_payload_size, max_inflated_per_feed]
        names = ("max_frame_size", "max_payload_size", "max_inflated_per_feed")
        for name, value in zip(names, limits):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_SIZE:
                raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
        out = ffi.new("FlIdigiDecoder **")
        check(lib.fl_idigi_decoder_new(ffi.new("FlIdigiLimits *", limits), out))
        self._decoder = ffi.gc(out[0], lib.fl_idigi_decoder_free)
        self._batch = ffi.new("FlIdigiBatch *")
        self._count_out = ffi.new("size_t *")
        # cffi releases the GIL during calls: one thread at a time in a decoder.
        self._lock = threading.Lock()

    def _count(self, query: Any) -> int:
        with self._lock:
            check(query(self._decoder, self._count_out))
            return int(self._count_out[0])

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held."""
        return self._count(lib.fl_idigi_decoder_buffered)

    @property
    def backlog(self) -> int:
        """Complete frames held back by the inflate budget (``feed(b"")`` returns them)."""
        return self._count(lib.fl_idigi_decoder_backlog)

    def feed(self, data: Union[bytes, bytearray, memoryview]) -> list[Frame]:
        if type(data) is not bytes:
            # An immutable copy: uncompressed payloads stay in it, uncopied.
            data = bytes(data)
        frames: list[Frame] = []
        errors: list[str] = []
        batch = self._batch
        with self._lock:
            # One call per feed: the batch holds every result, valid until the next call.
            check(lib.fl_idigi_decoder_feed(self._decoder, data, len(data), batch))
            count = batch.len
            if not count:
                return frames
            entries = batch.entries
            # The batch's bytes (inflated payloads, credentials, errors) die with it: one copy.
            held = ffi.buffer(batch.bytes, batch.bytes_len)[:] if batch.bytes_len else b""
            for i in range(count):
                e = entries[i]
                if e.result:
                    errors.append(_text(held, e.error))
                elif e.message_type == PUBLISH_MESSAGE:
                    frames.append(_publish(e, data if e.payload_in_input else held))
                else:
                    frames.append(_frame(e, held))
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
    user, pw = username.encode("utf-8"), password.encode("utf-8")
    out = ffi.new("FlBuffer *")
    status = lib.fl_idigi_encode_connect_request(
        user, len(user), pw, len(pw), _check_range("monitor_id", monitor_id, 32), out
    )
    check(status)
    return consume(out)


def encode_ack(block_id: int, status: int = STATUS_OK) -> bytes:
    """The documented 10-byte PublishMessageReceived ``0004 00000004 <block id> <status>``."""
    out = ffi.new("uint8_t[]", lib.FL_IDIGI_ACK_LEN)
    check(
        lib.fl_idigi_encode_ack(
            _check_range("block_id", block_id, 16),
            _check_range("status", status, 16),
            out,
            len(out),
        )
    )
    return bytes(ffi.buffer(out))


def encode_publish_message(
    block_id: int,
    payload: Union[bytes, str],
    *,
    count: int = 1,
    compression: int = COMPRESSION_NONE,
    format: int = FORMAT_JSON,
) -> bytes:
    """PublishMessage; compresses with zlib when ``compression`` is 1."""
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    out = ffi.new("FlBuffer *")
    status = lib.fl_idigi_encode_publish(
        _check_range("block_id", block_id, 16),
        _check_range("count", count, 16),
        _check_range("compression", compression, 8),
        _check_range("format", format, 8),
        data,
        len(data),
        out,
    )
    check(status)
    return consume(out)


def inflate(
    data: Union[bytes, bytearray, memoryview], max_size: int = DEFAULT_MAX_PAYLOAD_SIZE
) -> bytes:
    """Decompress one payload: zlib, raw deflate or gzip (sniffed). Corrupt data, or more than
    ``max_size`` bytes of output, raises :class:`ProtocolError`."""
    raw = bytes(data)
    out = ffi.new("FlBuffer *")
    check(lib.fl_inflate(raw, len(raw), _check_range("max_size", max_size, 63), out))
    return consume(out)
