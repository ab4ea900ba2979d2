"""ferrolink_ffi (libferrolink through cffi) side by side with its peers, in one run.

On CPython the peers are the PyO3 package (``ferrolink``, reported as the reference) and
devicecloud 0.5.10; on PyPy, where cffi is the fast path and ``ferrolink`` does not load,
ferrolink_ffi against devicecloud running on PyPy's JIT.

Groups: per-call overhead (one 10-byte ack through a long-lived decoder) and throughput (20,000
frames of 1 KiB JSON, uncompressed and zlib at zlib's default level as a real server sends,
fed in 64 KiB reads; devicecloud reads exact sizes as its select loop does). Every peer reads
each frame's payload length: devicecloud slices its payload out of the body, ferrolink's frames
hold a bytes object, ferrolink_ffi's slice theirs out of the data fed (or of one copy per feed
of the inflated payloads) when read. The reads are slices of one bytes object, as ``recv``
would return them: on PyPy, slicing the 20 MB stream alone is about half of devicecloud's
time, the floor under any decoder fed this way.

    python -m pytest benches/test_ffi.py                       # CPython, with the bench table
    pypy3 -m pytest --noconftest -p no:cacheprovider benches/test_ffi.py   # PyPy (README)
"""

from __future__ import annotations

import random
import zlib
from typing import Any, Callable

import pytest

ffi_idigi = pytest.importorskip("ferrolink_ffi.idigi")

try:
    from ferrolink.idigi import codec as pyo3_codec
except ImportError:  # PyPy: the PyO3 package is CPython-only
    pyo3_codec = None
try:
    from devicecloud import monitor_tcp as dc
except Exception:  # peer missing (or its pkg_resources import failing)
    dc = None

N = 20_000
READ = 64 * 1024


def _stream(compression: int) -> bytes:
    """N frames of one 1,024-byte JSON document each (varied, seeded content)."""
    rng = random.Random(16)
    frames = []
    for i in range(N):
        head = f'{{"i":{i},"data":"'
        body = "".join(rng.choices("abcdef0123", k=1024 - len(head) - 2))
        doc = f'{head}{body}"}}'.encode()
        frames.append(ffi_idigi.encode_publish_message(i & 0xFFFF, doc, compression=compression))
    return b"".join(frames)


STREAMS = {0: _stream(0), 1: _stream(1)}
ACK = ffi_idigi.encode_ack(0x01A7)


def _feeding(decoder_class: Any) -> Callable[[bytes], int]:
    def decode(data: bytes) -> int:
        feed = decoder_class().feed
        frames = 0
        for i in range(0, len(data), READ):
            for frame in feed(data[i : i + READ]):
                # Every peer reads each payload's length, as devicecloud's loop below does.
                frames += len(frame.payload) > 0
        return frames

    return decode


class _Socket:
    """recv(n) hands out the next n bytes from memory: devicecloud's readers, no syscalls."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def recv(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def _devicecloud(data: bytes) -> int:
    """devicecloud's header and body readers, then its inline inflate, frame after frame."""
    session = dc.PushSession(None, 1, None)
    session.socket = sock = _Socket(data)
    frames = 0
    while sock.pos < len(data):
        if session.message_length == 0 and dc._read_msg_header(session) in (
            dc.NO_DATA,
            dc.INCOMPLETE,
        ):
            continue
        if dc._read_msg(session):
            body, session.data, session.message_length = session.data, b"", 0
            payload = zlib.decompress(body[10:]) if body[4] == 1 else body[10:]
            frames += len(payload) > 0
    return frames


DECODERS: dict[str, Callable[[bytes], int]] = {"ferrolink_ffi": _feeding(ffi_idigi.FrameDecoder)}
TINY: dict[str, Any] = {"ferrolink_ffi": ffi_idigi.FrameDecoder}
if pyo3_codec is not None:
    DECODERS["ferrolink"] = _feeding(pyo3_codec.FrameDecoder)
    TINY["ferrolink"] = pyo3_codec.FrameDecoder
if dc is not None:
    DECODERS["devicecloud"] = _devicecloud


@pytest.mark.parametrize("peer", list(TINY))
def test_ffi_call_overhead(benchmark: Any, peer: str) -> None:
    benchmark.group = "ffi per-call overhead: feed one 10-byte ack"
    benchmark.extra_info["peer"] = peer
    feed = TINY[peer]().feed
    assert len(benchmark(feed, ACK)) == 1


def _group(compression: int) -> str:
    return f"ffi decode {N} x 1 KiB frames {'zlib' if compression else 'uncompressed'}"


@pytest.mark.parametrize("peer", list(DECODERS))
@pytest.mark.parametrize("compression", [0, 1], ids=["uncompressed", "zlib"])
def test_ffi_throughput(benchmark: Any, peer: str, compression: int) -> None:
    benchmark.group = _group(compression)
    benchmark.extra_info["peer"] = peer
    frames = benchmark.pedantic(
        DECODERS[peer], args=(STREAMS[compression],), rounds=5, iterations=1, warmup_rounds=1
    )
    assert frames == N


class _Reads:
    """The 64 KiB reads the decoders get, each kept (so PyPy's JIT cannot skip making it)."""

    last = b""

    def run(self, data: bytes) -> int:
        total = 0
        for i in range(0, len(data), READ):
            self.last = data[i : i + READ]
            total += len(self.last)
        return total


@pytest.mark.parametrize("compression", [0, 1], ids=["uncompressed", "zlib"])
def test_ffi_read_floor(benchmark: Any, compression: int) -> None:
    """The 64 KiB reads alone, no decoding: the floor under the decoders fed that way."""
    benchmark.group = _group(compression)
    benchmark.extra_info["peer"] = "floor: the reads alone"
    data = STREAMS[compression]
    total = benchmark.pedantic(_Reads().run, args=(data,), rounds=5, iterations=1, warmup_rounds=1)
    assert total == len(data)
