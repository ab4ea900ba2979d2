"""ferrolink_ffi.idigi on its own (CPython and PyPy): wire vectors, fragmentation, bad input."""

from __future__ import annotations

import gc
import gzip
import pickle
import zlib

import ferrolink_ffi
import pytest
from ferrolink_ffi import idigi
from ferrolink_ffi.errors import InvalidArgumentError, ProtocolError
from ffi_vectors import (
    ACKS,
    BIG_JSON,
    CONNECT_REQUESTS,
    DOCS_PUBLISH,
    DOCS_XML,
    JAVA_STREAM,
    MALFORMED,
    MIXED_STREAM,
    h,
    publish,
)


@pytest.mark.parametrize(("user", "password", "monitor", "frame"), CONNECT_REQUESTS)
def test_connection_request_vectors_round_trip(
    user: str, password: str, monitor: int, frame: str
) -> None:
    assert idigi.encode_connection_request(user, password, monitor) == h(frame)
    (decoded,) = ferrolink_ffi.FrameDecoder().feed(h(frame))
    assert decoded == idigi.ConnectionRequest(1, user, password, monitor)
    assert (decoded.type, decoded.username, decoded.monitor_id) == (1, user, monitor)
    assert password not in repr(decoded)


@pytest.mark.parametrize(("block", "frame"), ACKS)
def test_ack_vectors(block: int, frame: str) -> None:
    assert idigi.encode_ack(block) == h(frame)
    assert idigi.FrameDecoder().feed(h(frame)) == [idigi.PublishMessageReceived(block, 200)]


def test_connect_response_vector() -> None:
    (response,) = idigi.FrameDecoder().feed(h("0002 00000004 00c8 0001"))
    assert (response.status, response.version, response.type) == (200, 1, 2)


def test_docs_publish_vector_passes_xml_through_untouched() -> None:
    (msg,) = idigi.FrameDecoder().feed(DOCS_PUBLISH)
    assert isinstance(msg, idigi.PublishMessage)
    assert (msg.block_id, msg.count, msg.compression, msg.format, msg.type) == (0x1A7, 2, 0, 0, 3)
    assert msg.payload == DOCS_XML and not msg.is_json and msg.text.startswith("<Document>")
    assert idigi.encode_publish_message(0x1A7, DOCS_XML, count=2, format=0) == DOCS_PUBLISH


def test_java_sample_stream_two_back_to_back_frames() -> None:
    frames = idigi.FrameDecoder().feed(JAVA_STREAM)
    assert [(f.block_id, f.is_json) for f in frames if isinstance(f, idigi.PublishMessage)] == [
        (0, True),
        (1, True),
    ]


def test_mixed_stream_at_every_byte_boundary() -> None:
    whole = idigi.FrameDecoder().feed(MIXED_STREAM)
    assert len(whole) == 8
    assert whole[3] == idigi.UnknownMessage(9, 3)
    assert whole[5] == idigi.UnknownMessage(7, 0)
    assert whole[2].payload == BIG_JSON == whole[6].payload  # zlib and raw deflate
    for cut in range(1, len(MIXED_STREAM), 7):
        decoder = idigi.FrameDecoder()
        assert decoder.feed(MIXED_STREAM[:cut]) + decoder.feed(MIXED_STREAM[cut:]) == whole, cut
        assert decoder.buffered == 0
    decoder = idigi.FrameDecoder()
    one_by_one = [
        f for i in range(len(MIXED_STREAM)) for f in decoder.feed(MIXED_STREAM[i : i + 1])
    ]
    assert one_by_one == whole


def test_feed_accepts_bytearray_and_memoryview() -> None:
    decoder = idigi.FrameDecoder()
    assert decoder.feed(bytearray(h(ACKS[0][1]))) == decoder.feed(memoryview(h(ACKS[0][1])))
    assert decoder.feed(b"") == []


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_input_raises_frame_error(case: str) -> None:
    data, needle = MALFORMED[case]
    with pytest.raises(ProtocolError, match=needle) as info:
        idigi.FrameDecoder().feed(idigi.encode_ack(1) + data)
    assert isinstance(info.value, idigi.FrameError)
    assert info.value.frames == [idigi.PublishMessageReceived(1, 200)]
    assert needle in info.value.errors[0]


def test_body_errors_keep_the_stream_aligned_but_header_errors_are_final() -> None:
    decoder = idigi.FrameDecoder()
    with pytest.raises(idigi.FrameError) as info:
        decoder.feed(MALFORMED["unknown format"][0] + idigi.encode_ack(9))
    assert info.value.frames == [idigi.PublishMessageReceived(9, 200)]
    assert decoder.feed(idigi.encode_ack(10)) == [idigi.PublishMessageReceived(10, 200)]
    small = idigi.FrameDecoder(max_frame_size=100)
    with pytest.raises(idigi.FrameError, match="maximum"):
        small.feed(publish(1, b"x" * 200))
    with pytest.raises(idigi.FrameError, match="unusable"):
        small.feed(idigi.encode_ack(1))


def test_decompression_bomb_is_refused() -> None:
    bomb = idigi.encode_publish_message(1, b"\0" * 2_000_000, compression=1)
    assert len(bomb) < 50_000
    with pytest.raises(idigi.FrameError, match="maximum"):
        idigi.FrameDecoder(max_payload_size=1_000_000).feed(bomb)
    assert idigi.FrameDecoder(max_payload_size=2_000_000).feed(bomb)[0].payload == b"\0" * 2_000_000


def test_inflate_budget_holds_frames_back_in_order() -> None:
    stream = b"".join(
        idigi.encode_publish_message(i, BIG_JSON, compression=1) for i in range(5)
    ) + idigi.encode_ack(9)
    decoder = idigi.FrameDecoder(max_inflated_per_feed=2 * len(BIG_JSON))
    got = decoder.feed(stream)
    assert 0 < len(got) < 6 and decoder.backlog == 6 - len(got)
    while decoder.backlog:
        got += decoder.feed(b"")
    assert [f.block_id for f in got] == [0, 1, 2, 3, 4, 9]
    assert all(f.payload == BIG_JSON for f in got[:5])


@pytest.mark.parametrize("wbits", [15, -15, 31], ids=["zlib", "raw-deflate", "gzip"])
def test_inflate_sniffs_the_framing(wbits: int) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    data = packer.compress(BIG_JSON) + packer.flush()
    assert ferrolink_ffi.inflate(data) == BIG_JSON
    assert ferrolink_ffi.inflate(bytearray(data)) == BIG_JSON


def test_inflate_errors() -> None:
    with pytest.raises(ProtocolError, match="maximum of 100 bytes"):
        ferrolink_ffi.inflate(zlib.compress(BIG_JSON), 100)
    with pytest.raises(ProtocolError, match="invalid deflate"):
        ferrolink_ffi.inflate(b"\x78\x9c\xff\xff")
    with pytest.raises(ProtocolError, match="gzip"):
        ferrolink_ffi.inflate(gzip.compress(BIG_JSON)[:-9])
    with pytest.raises(InvalidArgumentError):
        ferrolink_ffi.inflate(b"", -1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: idigi.encode_connection_request("u" * 65536, "p", 1),
        lambda: idigi.encode_connection_request("u", "é" * 40000, 1),
        lambda: idigi.encode_connection_request("u", "p", -1),
        lambda: idigi.encode_connection_request("u", "p", 1 << 32),
        lambda: idigi.encode_connection_request(b"u", "p", 1),
        lambda: idigi.encode_ack(70000),
        lambda: idigi.encode_ack(True),
        lambda: idigi.encode_publish_message(1, b"x", compression=9),
        lambda: idigi.encode_publish_message(-1, b"x"),
        lambda: idigi.FrameDecoder(max_frame_size=0),
        lambda: idigi.FrameDecoder(max_payload_size=1 << 80),
        lambda: idigi.FrameDecoder(max_inflated_per_feed=0),
        lambda: idigi.FrameDecoder(max_frame_size=True),
    ],
)
def test_bad_arguments_are_invalid_argument_errors(call: object) -> None:
    with pytest.raises(InvalidArgumentError):
        call()  # type: ignore[operator]
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_the_raw_layer_reports_null_pointers_and_keeps_the_message() -> None:
    ffi, lib = ferrolink_ffi.ffi, ferrolink_ffi.lib
    status = lib.fl_idigi_decoder_feed(ffi.NULL, b"x", 1, ffi.new("FlIdigiBatch *"))
    assert status == lib.FL_STATUS_NULL_POINTER
    assert ffi.string(lib.fl_last_error()) == b"decoder is NULL"
    assert lib.fl_inflate(ffi.NULL, 5, 10, ffi.new("FlBuffer *")) == lib.FL_STATUS_NULL_POINTER
    lib.fl_buffer_free(ffi.NULL)
    lib.fl_idigi_decoder_free(ffi.NULL)
    assert ferrolink_ffi.__version__.count(".") == 2


def test_one_feed_is_one_batch_with_uncompressed_payloads_left_in_the_input() -> None:
    ffi, lib = ferrolink_ffi.ffi, ferrolink_ffi.lib
    out = ffi.new("FlIdigiDecoder **")
    assert lib.fl_idigi_decoder_new(ffi.NULL, out) == lib.FL_STATUS_OK
    decoder = ffi.gc(out[0], lib.fl_idigi_decoder_free)
    stream = MIXED_STREAM + MALFORMED["unknown compression"][0] + h(ACKS[1][1])
    batch = ffi.new("FlIdigiBatch *")
    assert lib.fl_idigi_decoder_feed(decoder, stream, len(stream), batch) == lib.FL_STATUS_OK
    entries = [batch.entries[i] for i in range(batch.len)]
    held = ffi.buffer(batch.bytes, batch.bytes_len)[:]
    kinds = [(e.result, e.message_type) for e in entries]
    frame, bad = lib.FL_STATUS_OK, lib.FL_STATUS_PROTOCOL
    types = [1, 2, 3, 9, 3, 7, 3, 4, 0, 4]
    assert kinds == [(bad if i == 8 else frame, t) for i, t in enumerate(types)]
    in_input = [e for e in entries if e.message_type == 3 and e.payload_in_input]
    assert [e.block_id for e in in_input] == [2]
    span = in_input[0].payload
    assert stream[span.offset : span.offset + span.len] == b"<Document/>"
    inflated = entries[2].payload
    assert held[inflated.offset : inflated.offset + inflated.len] == BIG_JSON
    error = entries[8].error
    assert b"compression byte 7" in held[error.offset : error.offset + error.len]


def test_frames_outlive_the_next_feed_the_decoder_and_a_reused_input_buffer() -> None:
    whole = publish(1, b"plain, whole") + publish(2, zlib.compress(BIG_JSON), compression=1)
    split = publish(3, b"plain, split across feeds")
    buffer = bytearray(whole + split[:20])
    decoder = idigi.FrameDecoder()
    first = decoder.feed(memoryview(buffer))
    buffer[:] = b"\xff" * len(buffer)  # a reader reusing its buffer for the next read
    second = decoder.feed(split[20:]) + decoder.feed(bytes(whole))
    del decoder
    gc.collect()
    payloads = [f.payload for f in first + second if isinstance(f, idigi.PublishMessage)]
    again = [b"plain, whole", BIG_JSON]
    assert payloads == [*again, b"plain, split across feeds", *again]


def test_publish_message_is_an_immutable_value() -> None:
    data = publish(7, b'{"a": 1}', count=2) + publish(8, zlib.compress(b"<a/>"), 1, fmt=0)
    decoded = idigi.FrameDecoder().feed(data)
    built = [
        idigi.PublishMessage(7, 2, 0, 1, b'{"a": 1}'),
        idigi.PublishMessage(8, 1, 1, 0, bytearray(b"<a/>")),
    ]
    assert decoded == built and decoded != built[::-1]
    assert [hash(f) for f in decoded] == [hash(f) for f in built]
    assert repr(decoded[0]) == (
        "PublishMessage(block_id=7, count=2, compression=0, format=1, "
        "payload=b'{\"a\": 1}', type=3)"
    )
    assert type(built[1].payload) is bytes and decoded[0].text == '{"a": 1}'
    assert (decoded[0].type, decoded[0].is_json, decoded[1].is_json) == (3, True, False)
    assert pickle.loads(pickle.dumps(decoded[0])) == decoded[0]
    assert decoded[0] != (7, 2, 0, 1, b'{"a": 1}')
    with pytest.raises(AttributeError):
        decoded[0].block_id = 9  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del decoded[0].format
