"""ferrolink.idigi.codec: the documented wire vectors, fragmentation, and every malformed input."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import time
import warnings
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrolink.errors import InvalidArgumentError, ProtocolError
from ferrolink.idigi import codec


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


@pytest.mark.parametrize(
    ("user", "password", "monitor", "frame"),
    [
        ("pepsi", "cola", 0x104, "0001 00000013 0001 0005 7065707369 0004 636f6c61 00000104"),
        ("pepsi", "cola", 10, "0001 00000013 0001 0005 7065707369 0004 636f6c61 0000000a"),
        ("user", "pass", 99850, "0001 00000012 0001 0004 75736572 0004 70617373 0001860a"),
        ("jürgen", "pw", 1, "0001 00000013 0001 0007 6ac3bc7267656e 0002 7077 00000001"),
    ],
)
def test_connection_request_vectors_round_trip(
    user: str, password: str, monitor: int, frame: str
) -> None:
    assert codec.encode_connection_request(user, password, monitor) == h(frame)
    (decoded,) = codec.FrameDecoder().feed(h(frame))
    assert decoded == codec.ConnectionRequest(1, user, password, monitor)
    assert password not in repr(decoded)


def test_ack_and_response_vectors() -> None:
    assert codec.encode_ack(0x01A7) == h("0004 00000004 01a7 00c8")
    assert codec.encode_ack(300) == h("0004 00000004 012c 00c8")
    assert codec.encode_connection_response(200, 1) == h("0002 00000004 00c8 0001")
    frames = codec.FrameDecoder().feed(h("0004 00000004 01a7 00c8 0002 00000004 00c8 0001"))
    assert frames == [codec.PublishMessageReceived(0x1A7, 200), codec.ConnectionResponse(200, 1)]


def _docs_xml() -> bytes:
    msg = (
        '<Msg topic="42/DeviceCore/1001/3" operation="update" timestamp="2024-05-01T10:00:00.000Z">'
        "<DeviceCore><id><devId>1001</devId></id></DeviceCore></Msg>"
    )
    doc = f"<Document>{msg}{msg.replace('update', 'create')}</Document>".encode()
    return doc + b" " * (517 - len(doc))


def test_docs_publish_vector_passes_xml_through_untouched() -> None:
    # The docs print size 0x215 for PayloadSize 0x205: 6 more than 10 + 517, i.e. they counted
    # the header itself. The body fields encode exactly; the size follows the documented rule.
    payload = _docs_xml()
    frame = h("0003 0000020f 01a7 0002 00 00 00000205") + payload
    assert codec.encode_publish_message(0x1A7, payload, count=2, format=codec.FORMAT_XML) == frame
    (msg,) = codec.FrameDecoder().feed(frame)
    assert isinstance(msg, codec.PublishMessage)
    assert (msg.block_id, msg.count, msg.compression, msg.format) == (0x1A7, 2, 0, 0)
    assert msg.payload == payload  # byte for byte
    literal = h("0003 00000215 01a7 0002 00 00 00000205") + payload + b"\0" * 6
    with pytest.raises(ProtocolError, match="PayloadSize 517 does not match"):
        codec.FrameDecoder().feed(literal)


def test_java_sample_stream_two_back_to_back_frames() -> None:
    body = json.dumps(
        {"Document": {"Msg": {"topic": "42/DeviceCore/1001/3", "operation": "UPDATE"}}}
    )
    payload = body.encode().ljust(508)
    stream = b"".join(h(f"0003 00000206 000{i} 0001 00 01 000001fc") + payload for i in range(2))
    assert len(stream) == 2 * 524
    frames = codec.FrameDecoder().feed(stream)
    assert [f.block_id for f in frames if isinstance(f, codec.PublishMessage)] == [0, 1]


def _mixed_stream() -> tuple[bytes, list[codec.Frame]]:
    big = json.dumps([{"i": i, "v": "x" * (i % 7)} for i in range(300)]).encode()
    parts = [
        codec.encode_connection_request("jürgen", "pw", 7),
        codec.encode_connection_response(200, 1),
        codec.encode_publish_message(1, big, compression=codec.COMPRESSION_ZLIB),
        h("0009 00000003 aabbcc"),
        codec.encode_publish_message(2, "<Document/>", format=codec.FORMAT_XML),
        h("0007 00000000"),
        codec.encode_ack(2),
    ]
    stream = b"".join(parts)
    return stream, codec.FrameDecoder().feed(stream)


def test_fragmentation_at_every_byte_boundary() -> None:
    stream, whole = _mixed_stream()
    assert len(whole) == 7
    assert whole[3] == codec.UnknownMessage(9, 3)  # skipped exactly, not a PublishMessage
    assert whole[5] == codec.UnknownMessage(7, 0)
    for cut in range(1, len(stream)):
        decoder = codec.FrameDecoder()
        assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == whole, cut
    decoder = codec.FrameDecoder()
    one_by_one = [f for i in range(len(stream)) for f in decoder.feed(stream[i : i + 1])]
    assert one_by_one == whole
    assert decoder.buffered == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=97), min_size=1, max_size=40))
def test_random_chunking_property(sizes: list[int]) -> None:
    stream, whole = _mixed_stream()
    decoder = codec.FrameDecoder()
    out: list[codec.Frame] = []
    pos, i = 0, 0
    while pos < len(stream):
        n = sizes[i % len(sizes)]
        out += decoder.feed(stream[pos : pos + n])
        pos, i = pos + n, i + 1
    assert out == whole


@pytest.mark.parametrize("wbits", [15, -15, 31], ids=["zlib", "raw-deflate", "gzip"])
def test_compressed_payload_framings_are_sniffed(wbits: int) -> None:
    payload = json.dumps({"Document": {"Msg": {"n": list(range(500))}}}).encode()
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    data = packer.compress(payload) + packer.flush()
    frame = codec.encode_publish_message(5, data, compression=1, raw=True)
    (msg,) = codec.FrameDecoder().feed(frame)
    assert isinstance(msg, codec.PublishMessage) and msg.payload == payload and msg.compression == 1
    assert gzip.decompress(gzip.compress(payload)) == payload


MALFORMED = {
    "payload size mismatch": (
        h("0003 0000000f 0001 0001 00 01 00000006 0102030405"),
        "PayloadSize",
    ),
    "unknown compression": (h("0003 0000000b 0001 0001 07 01 00000001 00"), "compression byte 7"),
    "unknown format": (h("0003 0000000b 0001 0001 00 05 00000001 00"), "format byte 5"),
    "corrupt zlib": (h("0003 00000010 0001 0001 01 01 00000006 789cffffffff"), "corrupt"),
    "truncated zlib": (
        codec.encode_publish_message(
            1, zlib.compress(b"hello world" * 50)[:-8], compression=1, raw=True
        ),
        "truncated",
    ),
    "ack with wrong size": (h("0004 00000002 0001"), "impossible size"),
    "response too long": (h("0002 00000006 00c8 0001 0000"), "impossible size"),
    "publish shorter than its prefix": (h("0003 00000004 00010001"), "impossible size"),
    "oversized frame": (h("0003 ffffffff"), "maximum frame size"),
    "request lengths inconsistent": (
        h("0001 0000000c 0001 0009 0000 0000 00000001"),
        "ConnectRequest",
    ),
    "request user not utf-8": (h("0001 0000000c 0001 0001 ff 0000 00000001 00"), "ConnectRequest"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_input_raises_protocol_error(case: str) -> None:
    data, needle = MALFORMED[case]
    good = codec.encode_ack(1)
    with pytest.raises(ProtocolError, match=needle) as info:
        codec.FrameDecoder().feed(good + data)
    assert isinstance(info.value, codec.FrameError)
    assert info.value.frames == [codec.PublishMessageReceived(1, 200)]  # nothing good lost


def test_body_errors_keep_the_stream_aligned_but_header_errors_are_final() -> None:
    decoder = codec.FrameDecoder()
    bad = MALFORMED["unknown format"][0]
    with pytest.raises(codec.FrameError) as info:
        decoder.feed(bad + codec.encode_ack(9))
    assert info.value.frames == [codec.PublishMessageReceived(9, 200)]
    assert decoder.feed(codec.encode_ack(10)) == [codec.PublishMessageReceived(10, 200)]
    small = codec.FrameDecoder(max_frame_size=100)
    with pytest.raises(codec.FrameError, match="maximum"):
        small.feed(codec.encode_publish_message(1, b"x" * 200))
    with pytest.raises(codec.FrameError, match="unusable"):
        small.feed(codec.encode_ack(1))


def _big_zlib_frames() -> tuple[list[bytes], list[bytes]]:
    """300 payloads and their zlib frames: enough for the core's multi-threaded inflate."""
    rng = random.Random(4)
    payloads = [json.dumps({"i": i, "v": rng.randbytes(400).hex()}).encode() for i in range(300)]
    frames = [
        codec.encode_publish_message(i, zlib.compress(p), compression=1, raw=True)
        for i, p in enumerate(payloads)
    ]
    return payloads, frames


def test_big_feed_inflates_in_order_with_per_frame_errors() -> None:
    payloads, frames = _big_zlib_frames()
    frames[150] = codec.encode_publish_message(150, b"\x78\x9c\xff\xff", compression=1, raw=True)
    frames[151] = codec.encode_publish_message(151, payloads[151])  # uncompressed among zlib
    stream = b"".join(frames)
    assert len(stream) > 64 * 1024
    decoder = codec.FrameDecoder()
    with pytest.raises(codec.FrameError, match="block 150:") as info:
        decoder.feed(stream[:100_000])
    tail = decoder.feed(stream[100_000:])
    got = info.value.frames + tail
    assert [f.block_id for f in got if isinstance(f, codec.PublishMessage)] == [
        i for i in range(300) if i != 150
    ]
    assert [f.payload for f in got if isinstance(f, codec.PublishMessage)] == [
        p for i, p in enumerate(payloads) if i != 150
    ]
    assert len(info.value.errors) == 1 and decoder.buffered == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_forked_child_still_decodes_big_feeds() -> None:
    # The parent's inflate threads do not exist in a forked child; it must not wait for them.
    payloads, frames = _big_zlib_frames()
    stream = b"".join(frames)
    assert [f.payload for f in codec.FrameDecoder().feed(stream)] == payloads
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads
        pid = os.fork()
    if pid == 0:  # child: reports by exit status only, never returns into pytest
        code = 1
        try:
            code = 0 if [f.payload for f in codec.FrameDecoder().feed(stream)] == payloads else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung decoding a big compressed feed")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_decompression_bomb_is_refused() -> None:
    bomb = codec.encode_publish_message(1, b"\0" * 2_000_000, compression=1)
    assert len(bomb) < 50_000
    with pytest.raises(codec.FrameError, match="maximum"):
        codec.FrameDecoder(max_payload_size=1_000_000).feed(bomb)


@pytest.mark.parametrize(
    "call",
    [
        lambda: codec.encode_connection_request("u" * 65536, "p", 1),
        lambda: codec.encode_connection_request("u", "é" * 40000, 1),
        lambda: codec.encode_connection_request("u", "p", -1),
        lambda: codec.encode_connection_request("u", "p", 1 << 32),
        lambda: codec.encode_ack(70000),
        lambda: codec.encode_ack(True),
        lambda: codec.encode_publish_message(1, b"x", compression=9),
        lambda: codec.encode_publish_message(-1, b"x"),
        lambda: codec.FrameDecoder(max_frame_size=0),
    ],
)
def test_bad_encoder_arguments_are_invalid_argument_errors(call: object) -> None:
    with pytest.raises(InvalidArgumentError):
        call()  # type: ignore[operator]


def test_envelopes() -> None:
    one = [{"topic": "42/DataPoint/s", "operation": "INSERTION", "DataPoint": {"data": "1"}}]
    assert json.loads(codec.json_document(one))["Document"]["Msg"]["DataPoint"] == {"data": "1"}
    two = json.loads(codec.json_document(one * 2))
    assert codec.split_messages(two) == one * 2
    assert codec.split_messages(json.loads(codec.json_document(one))) == one
    xml = codec.xml_document([{"topic": "t&1", "operation": "create", "Body": {"a": "<x>"}}])
    expected = '<Msg topic="t&amp;1" operation="create"><Body><a>&lt;x&gt;</a></Body></Msg>'
    assert xml == f"<Document>{expected}</Document>"
