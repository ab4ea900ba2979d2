"""iDigi FrameDecoder under hostile sizes: memory follows the bytes that arrived, allocation
failure is an error, and one feed inflates no more than its budget."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib

import pytest

from ferrolink.errors import InvalidArgumentError
from ferrolink.idigi import codec

# A PublishMessage header declaring a 64 MiB body, and the first byte of it.
BIG_HEADER = b"\x00\x03\x04\x00\x00\x00\x00"


def vm_size() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmSize:"))
    return int(line.split()[1]) * 1024


def zeros_bomb(size: int) -> bytes:
    """zlib data inflating to ``size`` zero bytes, made without holding them."""
    z = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [z.compress(chunk) for _ in range(size >> 20)]
    parts.append(z.compress(bytes(size & ((1 << 20) - 1))))
    return b"".join(parts) + z.flush()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_declared_size_reserves_nothing() -> None:
    before = vm_size()
    decoders = []
    for _ in range(1000):
        decoder = codec.FrameDecoder()
        assert decoder.feed(BIG_HEADER + bytes(1024)) == []
        decoders.append(decoder)
    # 1,000 decoders waiting for 64 MiB frames once reserved 64 GB; now about 1 KiB each.
    assert vm_size() - before < 64 << 20
    assert all(d.buffered == 1025 for d in decoders)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc")
def test_under_a_memory_limit_big_frames_fail_with_frame_error_not_an_abort() -> None:
    done = run_python(
        """
        import resource
        from ferrolink.idigi import codec

        def vm_size():
            with open("/proc/self/status") as status:
                line = next(line for line in status if line.startswith("VmSize:"))
            return int(line.split()[1]) * 1024

        decoder = codec.FrameDecoder()
        chunk = bytes(1 << 20)
        limit = vm_size() + (48 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        decoder.feed(b"\\x00\\x03\\x04\\x00\\x00\\x00\\x00")
        decoder.feed(bytes(4096))
        print("survived", decoder.buffered)
        try:
            for _ in range(64):
                decoder.feed(chunk)
        except codec.FrameError as exc:
            print("FrameError:", exc)
        try:
            decoder.feed(b"more")
        except codec.FrameError as exc:
            print("then:", exc)
        """
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"survived {1 + 4096}"
    assert lines[1].startswith("FrameError: out of memory: cannot allocate"), done.stdout
    assert lines[2].startswith("then: stream unusable after an earlier error"), done.stdout


def test_frames_past_the_inflate_budget_wait_for_the_next_feed_in_order() -> None:
    mib = 1 << 20
    bomb = zeros_bomb(mib)
    stream = b"".join(
        codec.encode_publish_message(i, bomb, compression=1, raw=True) for i in range(10)
    )
    stream += codec.encode_publish_message(10, b"plain")
    stream += codec.encode_ack(3)
    decoder = codec.FrameDecoder(max_payload_size=mib, max_inflated_per_feed=3 * mib)

    first = decoder.feed(stream)
    # Each payload may inflate to the 1 MiB cap: three fit the budget, the rest wait.
    assert [f.block_id for f in first] == [0, 1, 2]
    assert decoder.backlog == 9
    # New bytes queue behind the held frames; an empty feed drains one budget per call.
    tail = codec.encode_publish_message(11, b"late")
    batches = [decoder.feed(tail)]
    while decoder.backlog:
        batches.append(decoder.feed(b""))
    assert [len(b) for b in batches] == [3, 3, 4]
    assert all(sum(len(getattr(f, "payload", b"")) for f in b) <= 3 * mib for b in batches)
    frames = [f for b in [first, *batches] for f in b]
    assert [getattr(f, "block_id", None) for f in frames] == [*range(11), 3, 11]
    assert isinstance(frames[11], codec.PublishMessageReceived)
    assert all(f.payload == bytes(mib) for f in frames[:10])
    assert decoder.feed(b"") == [] and decoder.backlog == 0


def test_a_feed_never_inflates_less_than_one_frame() -> None:
    payload = b"x" * 100_000
    frame = codec.encode_publish_message(1, payload, compression=1)
    decoder = codec.FrameDecoder(max_inflated_per_feed=1)
    assert [f.payload for f in decoder.feed(frame + frame)] == [payload]
    assert [f.payload for f in decoder.feed(b"")] == [payload]


def test_a_bomb_over_the_per_frame_cap_fails_alone() -> None:
    bomb = codec.encode_publish_message(1, zeros_bomb(2 << 20), compression=1, raw=True)
    ok = codec.encode_publish_message(2, b"{}", compression=1)
    decoder = codec.FrameDecoder(max_payload_size=1 << 20)
    with pytest.raises(codec.FrameError, match="exceeds the maximum of 1048576") as caught:
        decoder.feed(bomb + ok)
    assert [f.block_id for f in caught.value.frames] == [2]


def test_bad_limits_are_invalid_arguments() -> None:
    for kwargs in (
        {"max_inflated_per_feed": 0},
        {"max_payload_size": True},
        {"max_frame_size": 1 << 64},
    ):
        with pytest.raises(InvalidArgumentError):
            codec.FrameDecoder(**kwargs)


def test_default_limits_hold_a_feed_of_bombs_under_a_gigabyte_and_a_half() -> None:
    # 16 bombs in one feed, each inflating to the largest payload allowed by default: the
    # decoder hands them out a budget at a time; peak memory counts the frames returned.
    done = run_python(
        """
        import resource, zlib
        from ferrolink.idigi import codec

        size = codec.DEFAULT_MAX_PAYLOAD_SIZE
        z = zlib.compressobj(9)
        chunk = bytes(1 << 20)
        bomb = b"".join(z.compress(chunk) for _ in range(size >> 20)) + z.flush()
        feed = b"".join(
            codec.encode_publish_message(i, bomb, compression=1, raw=True) for i in range(16)
        )
        del chunk
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        decoder = codec.FrameDecoder()
        sizes = [len(f.payload) for f in decoder.feed(feed)]
        feeds = 1
        while decoder.backlog:
            sizes += [len(f.payload) for f in decoder.feed(b"")]
            feeds += 1
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
        print(len(feed), feeds, sizes == [size] * 16, grown)
        """
    )
    assert done.returncode == 0, done.stderr
    feed_len, feeds, whole, grown = done.stdout.split()
    assert int(feed_len) < 4_000_000 and whole == "True"
    assert int(feeds) == 4
    assert int(grown) < 1536 << 20, f"peak grew by {int(grown) >> 20} MiB"
