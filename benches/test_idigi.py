"""iDigi push: ferrolink vs devicecloud 0.5.10 (``pip install --no-deps devicecloud==0.5.10``).

Groups: decode (framing + inflate, 20,000 1 KiB JSON frames, with and without zlib), bigframe
(one 4 MiB frame in 1,460-byte reads, and a 64 KiB one), e2e (connect to a loopback push server
-> last of 20,000 callbacks: devicecloud's TCPClientManager on plain TCP, ferrolink on plain TCP
and TLS). In e2e both peers hand the callback parsed JSON (devicecloud always json.loads()es);
``ferrolink-text`` shows ferrolink's default (the payload text). Stopping the client is not
timed (devicecloud's threads only notice stop() after a 0.1 s select timeout).

The zlib stream is what a real server (Java's Deflater) sends: each payload is
compressed by ``zlib.compress`` at the default level (about 587 B per payload, ratio 1.74,
12.1 MB of frames) and framed as is, so the inflate cost is that of field data rather than of
whatever level the codec's own encoder uses.
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import threading
import zlib
from typing import Any, Callable, Optional

import pytest

from ferrolink.idigi import codec
from ferrolink.idigi.session import PushSession, SessionOptions
from ferrolink.sandbox.tls import SandboxTLS

try:
    from devicecloud import monitor_tcp as dc
except Exception:  # peer missing (or its pkg_resources import failing): ferrolink runs alone
    dc = None

N = 20_000


def _payloads(n: int = N) -> list[bytes]:
    """Valid JSON documents of exactly 1,024 bytes (devicecloud json.loads()es every payload)."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        point = {"data": "", "streamId": f"dev/{i % 50}"}
        msg = {
            "Document": {
                "Msg": {
                    "topic": f"42/DataPoint/s{i}",
                    "operation": "INSERTION",
                    "timestamp": "2024-05-01T10:00:00.000Z",
                    "DataPoint": point,
                }
            }
        }
        room = 1024 - len(json.dumps(msg))
        point["data"] = "".join(rng.choice("abcdef0123") for _ in range(room))
        out.append(json.dumps(msg).encode())
    return out


def _stream(compress: bool, n: int = N) -> bytes:
    """Frames of one payload each; with ``compress``, default-level zlib framed raw."""
    payloads = _payloads(n)
    if not compress:
        return b"".join(codec.encode_publish_message(i & 0xFFFF, p) for i, p in enumerate(payloads))
    return b"".join(
        codec.encode_publish_message(
            i & 0xFFFF, zlib.compress(p), compression=codec.COMPRESSION_ZLIB, raw=True
        )
        for i, p in enumerate(payloads)
    )


STREAMS = {False: _stream(False), True: _stream(True)}


class _FakeSocket:
    """recv(n) hands out at most min(n, chunk) bytes from memory: no syscalls."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.view, self.pos, self.chunk = memoryview(data), 0, chunk

    def recv(self, n: int) -> bytes:
        end = self.pos + min(n, self.chunk)
        out = self.view[self.pos : end].tobytes()
        self.pos = end
        return out


def _devicecloud_decode(data: bytes, chunk: int) -> int:
    """devicecloud's own header/body readers + its inline post-processing, as its select loop."""
    session = dc.PushSession(None, 1, None)
    session.socket = _FakeSocket(data, chunk)
    frames = 0
    end = len(data)
    while session.socket.pos < end:
        if session.message_length == 0:
            kind = dc._read_msg_header(session)
            if kind in (dc.NO_DATA, dc.INCOMPLETE):
                continue
        if not dc._read_msg(session):
            continue
        body = session.data
        session.data, session.message_length = b"", 0
        payload = body[10:]
        if body[4] == 1:
            payload = zlib.decompress(payload)
        frames += 1
    return frames


def _ferrolink_decode(data: bytes, chunk: int) -> int:
    decoder = codec.FrameDecoder()
    view = memoryview(data)
    return sum(len(decoder.feed(view[i : i + chunk])) for i in range(0, len(data), chunk))


PEERS: dict[str, Callable[[bytes, int], int]] = {"ferrolink": _ferrolink_decode}
if dc is not None:
    PEERS["devicecloud"] = _devicecloud_decode


@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "zlib"])
def test_decode(benchmark: Any, peer: str, compress: bool) -> None:
    benchmark.group = f"idigi decode {N} frames {'zlib' if compress else 'uncompressed'}"
    benchmark.extra_info["peer"] = peer
    data = STREAMS[compress]
    chunk = 65536 if peer == "ferrolink" else 1 << 30  # devicecloud reads exact sizes anyway
    assert benchmark.pedantic(PEERS[peer], args=(data, chunk), rounds=3, iterations=1) == N


@pytest.mark.parametrize("peer", list(PEERS))
@pytest.mark.parametrize("size", [64 * 1024, 4 * 1024 * 1024], ids=["64KiB", "4MiB"])
def test_bigframe(benchmark: Any, peer: str, size: int) -> None:
    benchmark.group = f"idigi bigframe {size // 1024} KiB in 1460-byte reads"
    benchmark.extra_info["peer"] = peer
    data = codec.encode_publish_message(1, b"x" * size) * (4 if size < 1 << 20 else 1)
    frames = benchmark.pedantic(PEERS[peer], args=(data, 1460), rounds=3, iterations=1)
    assert frames >= 1


# --- end to end --------------------------------------------------------------------------


class _PushServer:
    """Accepts one client, answers the ConnectRequest, then sendall()s the whole stream."""

    def __init__(self, stream: bytes, tls: Optional[ssl.SSLContext]) -> None:
        self.stream, self.tls = stream, tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        raw, _ = self.listener.accept()
        sock = self.tls.wrap_socket(raw, server_side=True) if self.tls else raw
        with sock:
            sock.recv(4096)
            sock.sendall(codec.encode_connection_response())
            sock.sendall(self.stream)
            sock.settimeout(30)
            try:
                while sock.recv(65536):
                    pass  # drain acks until the client leaves
            except OSError:
                pass
        self.listener.close()


Stops = list[Callable[[], Any]]


def _counting_callback(n: int) -> tuple[Callable[[Any], bool], threading.Event]:
    """A callback that sets the returned event on its ``n``th call."""
    done = threading.Event()
    count = [0]

    def cb(_: Any) -> bool:
        count[0] += 1
        if count[0] == n:
            done.set()
        return True

    return cb, done


def _run_devicecloud(stream: bytes, n: int, stops: Stops) -> None:
    server = _PushServer(stream, None)
    cb, done = _counting_callback(n)

    class Conn:
        hostname, username, password = "127.0.0.1", "user", "pass"

    dc.PUSH_OPEN_PORT = server.port
    manager = dc.TCPClientManager(Conn(), secure=False)
    manager.create_session(cb, 1)
    stops.append(manager.stop)
    assert done.wait(120)


def _run_ferrolink(
    stream: bytes, n: int, stops: Stops, tls: Optional[SandboxTLS], parsed: bool
) -> None:
    server = _PushServer(stream, tls.server_context() if tls else None)
    cb, done = _counting_callback(n)
    options = SessionOptions(
        host="127.0.0.1",
        port=server.port,
        tls=tls is not None,
        ca_file=str(tls.ca_file) if tls else None,
    )
    session = PushSession(cb, 1, "user", "pass", options, parsed=parsed)
    stops.append(lambda: session.stop(2.0))
    assert done.wait(120)


E2E_N = 20_000


@pytest.mark.parametrize("peer", ["ferrolink", "ferrolink-tls", "ferrolink-text", "devicecloud"])
def test_e2e(benchmark: Any, peer: str, bench_tls: SandboxTLS) -> None:
    if peer == "devicecloud" and dc is None:
        pytest.skip("devicecloud not installed")
    benchmark.group = f"idigi e2e {E2E_N} frames loopback"
    benchmark.extra_info["peer"] = peer
    stops: Stops = []

    def stop_previous() -> None:  # untimed: runs before each round and after the last
        while stops:
            stops.pop()()

    if peer == "devicecloud":
        run: Callable[..., None] = _run_devicecloud
        args: tuple[Any, ...] = (STREAMS[False], E2E_N, stops)
    else:
        tls = bench_tls if peer == "ferrolink-tls" else None
        args = (STREAMS[False], E2E_N, stops, tls, peer != "ferrolink-text")
        run = _run_ferrolink
    try:
        benchmark.pedantic(run, args=args, setup=stop_previous, rounds=3, iterations=1)
    finally:
        stop_previous()
