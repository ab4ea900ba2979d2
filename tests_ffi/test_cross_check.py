"""The cffi path against the PyO3 path (CPython, both packages installed): the same vectors and
random inputs give the same frames, fields, hashes and error classes."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from ffi_vectors import (
    BAD_PULL_REPLIES,
    DOCS_PUBLISH,
    HEXONET_TEXTS,
    JAVA_STREAM,
    MALFORMED,
    MIXED_STREAM,
    PULL_REPLIES,
    publish,
)

pytest.importorskip("ferrolink")
from ferrolink_ffi import errors as ffi_errors
from ferrolink_ffi import hexonet, idigi, myqtthub
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrolink import _core, errors
from ferrolink.hexonet import responseparser
from ferrolink.idigi import codec

FIELDS = {
    "ConnectionRequest": ("type", "version", "username", "password", "monitor_id"),
    "ConnectionResponse": ("type", "status", "version"),
    "PublishMessage": ("type", "block_id", "count", "compression", "format", "payload"),
    "PublishMessageReceived": ("type", "block_id", "status"),
    "UnknownMessage": ("message_type", "size"),
}


def described(frames: list[Any]) -> list[tuple[Any, ...]]:
    """Class name and every documented field, so frames of either package compare."""
    out = []
    for f in frames:
        name = type(f).__name__.replace("IdigiPublishMessage", "PublishMessage")
        out.append((name, *(getattr(f, field) for field in FIELDS[name])))
    return out


def outcome(decoder: Any, chunks: list[bytes]) -> tuple[Any, ...]:
    frames: list[Any] = []
    problems: list[tuple[str, list[str]]] = []
    for chunk in chunks:
        try:
            frames += decoder.feed(chunk)
        except Exception as e:
            frames += e.frames  # type: ignore[attr-defined]
            problems.append((type(e).__name__, e.errors))  # type: ignore[attr-defined]
    return described(frames), problems


STREAMS = {
    "docs": DOCS_PUBLISH,
    "java": JAVA_STREAM,
    "mixed": MIXED_STREAM,
    **{
        f"malformed {k}": codec.encode_ack(1) + v[0] + codec.encode_ack(2)
        for k, v in MALFORMED.items()
    },
}


@pytest.mark.parametrize("name", list(STREAMS))
def test_same_frames_and_errors_as_ferrolink(name: str) -> None:
    stream = STREAMS[name]
    for size in (len(stream) or 1, 5, 1):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert outcome(idigi.FrameDecoder(), chunks) == outcome(codec.FrameDecoder(), chunks)


def test_same_limits_and_error_classes() -> None:
    bomb = codec.encode_publish_message(1, b"\0" * 300_000, compression=1)
    for max_frame, max_payload in ((100, 1 << 20), (1 << 20, 1000)):
        assert outcome(idigi.FrameDecoder(max_frame, max_payload), [bomb, bomb]) == outcome(
            codec.FrameDecoder(max_frame, max_payload), [bomb, bomb]
        )
    assert issubclass(idigi.FrameError, ffi_errors.ProtocolError)
    for name in ("FerrolinkError", "InvalidArgumentError", "ProtocolError", "TransportError"):
        ours, theirs = getattr(ffi_errors, name), getattr(errors, name)
        assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__][
            : len(ours.__mro__)
        ]


def test_same_inflate_budget_and_backlog() -> None:
    stream = b"".join(codec.encode_publish_message(i, b"x" * 5000, compression=1) for i in range(9))
    ours, theirs = (
        idigi.FrameDecoder(max_inflated_per_feed=12_000),
        codec.FrameDecoder(max_inflated_per_feed=12_000),
    )
    for chunk in (stream, b"", b"", b"", b"", b""):
        assert described(ours.feed(chunk)) == described(theirs.feed(chunk))
        assert ours.backlog == theirs.backlog
    assert (idigi.DEFAULT_MAX_FRAME_SIZE, idigi.DEFAULT_MAX_PAYLOAD_SIZE) == (
        codec.DEFAULT_MAX_FRAME_SIZE,
        codec.DEFAULT_MAX_PAYLOAD_SIZE,
    )
    assert idigi.DEFAULT_MAX_INFLATED_PER_FEED == codec.DEFAULT_MAX_INFLATED_PER_FEED


def test_same_encodings() -> None:
    for block in (0, 0x1A7, 0xFFFF):
        assert idigi.encode_ack(block, 201) == codec.encode_ack(block, 201)
    args = ("jürgen", "pa:ss", 0xFFFFFFFF)
    assert idigi.encode_connection_request(*args) == codec.encode_connection_request(*args)
    for compression in (0, 1):
        ours = idigi.encode_publish_message(7, "{}", count=3, compression=compression, format=0)
        theirs = codec.encode_publish_message(7, "{}", count=3, compression=compression, format=0)
        assert ours == theirs


@settings(max_examples=80, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    compress=st.lists(st.booleans(), min_size=1),
    noise=st.binary(max_size=12),
    sizes=st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=10),
)
def test_random_streams_decode_alike(
    payloads: list[bytes], compress: list[bool], noise: bytes, sizes: list[int]
) -> None:
    frames = [
        publish(i, zlib.compress(p), 1) if compress[i % len(compress)] else publish(i, p)
        for i, p in enumerate(payloads)
    ]
    stream = b"".join([*frames[:1], noise, *frames[1:]])
    chunks, pos, i = [], 0, 0
    while pos < len(stream):
        chunks.append(stream[pos : pos + sizes[i % len(sizes)]])
        pos, i = pos + sizes[i % len(sizes)], i + 1
    assert outcome(idigi.FrameDecoder(), chunks) == outcome(codec.FrameDecoder(), chunks)


@pytest.mark.parametrize("text", HEXONET_TEXTS)
def test_same_hexonet_hash(text: str) -> None:
    ours, theirs = hexonet.parse(text), responseparser.parse(text)
    assert ours == theirs and list(ours) == list(theirs)
    assert list(ours.get("PROPERTY", {})) == list(theirs.get("PROPERTY", {}))


KEYISH = st.text(alphabet="PROPERTYprtycodeCODE[]=_ \t\r\n\u00e4\u00df\x1c0123456789", max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=200), KEYISH))
def test_random_hexonet_texts_parse_alike(text: str) -> None:
    ours, theirs = hexonet.parse(text), responseparser.parse(text)
    assert ours == theirs and list(ours) == list(theirs)


def test_same_hexonet_request_bodies() -> None:
    pairs = [("COMMAND", "ModifyDomain"), ("PASSWORD", "a\nb"), ("X", "ä&=+ /")]
    connection = ("54cd", "user", None, "pw", None, "sess", "sub")
    names = ("entity", "login", "otp", "pw", "remoteaddr", "session", "user")
    for secured in (False, True):
        ours = hexonet.post_data(pairs, secured=secured, **dict(zip(names, connection)))
        assert ours == _core.hexonet_post_data(connection, pairs, secured)
    assert hexonet.post_data("X=1", entity="e") == _core.hexonet_post_data(
        ("e", None, None, None, None, None, None), "X=1"
    )


@pytest.mark.parametrize("reply", PULL_REPLIES)
def test_same_pull_decoding(reply: bytes) -> None:
    assert myqtthub.decode_pull(reply) == _core.myqtthub_decode_pull(reply)


@pytest.mark.parametrize("reply", BAD_PULL_REPLIES)
def test_same_pull_errors(reply: bytes) -> None:
    with pytest.raises(errors.ProtocolError) as theirs:
        _core.myqtthub_decode_pull(reply)
    with pytest.raises(ffi_errors.ProtocolError) as ours:
        myqtthub.decode_pull(reply)
    assert str(ours.value) == str(theirs.value)


def test_same_publish_bodies() -> None:
    for args in (
        ("tok", "a/b", b"\x00\xff" * 50, 2, True, True),
        ('t"', "é/\n", b"", 0, False, False),
    ):
        assert myqtthub.publish_body(*args) == _core.myqtthub_publish_body(*args)
