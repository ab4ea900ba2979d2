"""The push side: TCP and TLS listeners speaking the framed push protocol to monitor clients.

A client sends a ConnectRequest (checked: 403 bad credentials, 400 malformed or unknown
monitor); then events are batched by ``monBatchSize`` / ``monBatchDuration``, optionally
compressed, sent as PublishMessage blocks and, with explicit acks, held until acknowledged.
Unacknowledged blocks are re-delivered and missed events replayed on reconnect.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import zlib
from typing import Any, Optional

from ...idigi import codec
from ..service import Environment
from .connection import Connection
from .monitors import Monitor, now_iso
from .state import IdigiState

__all__ = ["PushServer"]

log = logging.getLogger("ferrolink.sandbox.idigi")


class PushServer(IdigiState):
    """The push half of the emulator: one TLS and one plain listener."""

    def __init__(self) -> None:
        super().__init__()
        self._listeners: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._connections: set[Connection] = set()
        self._stopping = threading.Event()
        self._push_urls: dict[str, str] = {}
        self._tls_context: Optional[ssl.SSLContext] = None

    def _start_push(self, env: Environment) -> None:
        opts = env.options
        self._stopping.clear()
        self._tls_context = env.tls.server_context()
        for kind, port, tls in (
            ("push_tls", int(opts.get("push_tls_port", env.port("push_tls"))), True),
            ("push", int(opts.get("push_port", env.port("push"))), False),
        ):
            listener = socket.create_server((env.host, port))
            listener.settimeout(0.1)
            self._listeners.append(listener)
            real_port = listener.getsockname()[1]
            self._push_urls[kind] = f"{'tls' if tls else 'tcp'}://{env.host}:{real_port}"
            self._spawn(self._accept_loop, f"sandbox-idigi-{kind}", listener, tls)

    def _stop_push(self) -> None:
        self._stopping.set()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        with self._cond:
            connections = list(self._connections)
            self._cond.notify_all()
        for conn in connections:
            conn.close()
        for thread in self._threads:
            thread.join(2.0)
        self._threads.clear()

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)

    def _accept_loop(self, listener: socket.socket, tls: bool) -> None:
        while not self._stopping.is_set():
            try:
                sock, peer = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._serve_connection, f"sandbox-idigi-conn-{peer[1]}", sock, peer, tls)

    def _serve_connection(self, raw: socket.socket, peer: Any, tls: bool) -> None:
        sock: socket.socket = raw
        try:
            sock.settimeout(10)
            if tls and self._tls_context is not None:
                sock = self._tls_context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("push TLS handshake failed: %s", exc)
            raw.close()
            return
        conn = Connection(sock, peer)
        with self._cond:
            self._connections.add(conn)
        try:
            monitor = self._handshake(conn)
            if monitor is not None:
                sock.settimeout(None)
                self._spawn(self._read_acks, f"sandbox-idigi-acks-{peer[1]}", conn, monitor)
                self._send_loop(conn, monitor)
        except (OSError, ssl.SSLError) as exc:
            log.debug("push connection %s ended: %s", peer, exc)
        finally:
            conn.close()
            self._detach(conn)

    def _handshake(self, conn: Connection) -> Optional[Monitor]:
        decoder = codec.FrameDecoder(max_frame_size=200_000)
        raw = b""
        frames: list[codec.Frame] = []
        while not frames:
            chunk = conn.sock.recv(4096)
            if not chunk:
                return None
            raw += chunk
            try:
                frames = decoder.feed(chunk)
            except codec.FrameError as exc:
                self._protocol_error(f"malformed ConnectRequest: {exc}", raw)
                self._reply(conn, codec.STATUS_BAD_REQUEST)
                return None
        request = frames[0]
        self.received.append(("connect", raw))
        if self.faults.connect_status is not None:
            self._reply(conn, self.faults.connect_status)
            return None
        if not isinstance(request, codec.ConnectionRequest) or request.version != 1:
            self._protocol_error(f"expected a version-1 ConnectRequest, got {request!r}", raw)
            self._reply(conn, codec.STATUS_BAD_REQUEST)
            return None
        if request.username != self.username or request.password != self.password:
            self._reply(conn, codec.STATUS_UNAUTHORIZED)
            return None
        old: Optional[Connection] = None
        with self._cond:
            mon = self._monitors.get(request.monitor_id)
            if (
                mon is None
                or mon.owner != request.username
                or mon.fields.get("monTransportType") != "tcp"
            ):
                mon = None
            else:
                old = mon.connection
                mon.connection = conn
                mon.status = "ACTIVE"
                mon.last_connect = now_iso()
                if mon.backlog:
                    mon.queued_at = time.monotonic()
        if mon is None:
            self._reply(conn, codec.STATUS_BAD_REQUEST)
            return None
        if old is not None:
            old.close()
        self._reply(conn, codec.STATUS_OK)
        return mon

    def _reply(self, conn: Connection, status: int) -> None:
        with conn.write_lock:
            conn.sock.sendall(codec.encode_connection_response(status))

    def _protocol_error(self, message: str, raw: bytes) -> None:
        log.error("idigi sandbox PROTOCOL ERROR: %s", message)
        self.protocol_errors.append(message)
        self.received.append(("bad", raw))

    def _read_acks(self, conn: Connection, mon: Monitor) -> None:
        # A 6-byte ack (the originals' bug) reads as a huge size: the cap makes it an error.
        decoder = codec.FrameDecoder(max_frame_size=1024)
        try:
            while not conn.closed.is_set():
                chunk = conn.sock.recv(65536)
                if not chunk:
                    break
                try:
                    frames = decoder.feed(chunk)
                except codec.FrameError as exc:
                    self._protocol_error(
                        "bad bytes from push client "
                        f"(not a 10-byte PublishMessageReceived?): {exc}",
                        chunk,
                    )
                    break
                with self._cond:
                    for frame in frames:
                        if isinstance(frame, codec.PublishMessageReceived):
                            self.received.append(
                                ("ack", codec.encode_ack(frame.block_id, frame.status))
                            )
                            if conn is mon.connection:
                                mon.outstanding.pop(frame.block_id, None)
                        else:
                            self._protocol_error(
                                f"unexpected message from client: {frame!r}", chunk
                            )
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
            with self._cond:
                self._cond.notify_all()

    def _detach(self, conn: Connection) -> None:
        with self._cond:
            self._connections.discard(conn)
            for mon in self._monitors.values():
                if mon.connection is conn:
                    mon.connection = None
                    mon.status = "SUSPENDED" if mon.auto_replay else "INACTIVE"
                    redo = [m for msgs in mon.outstanding.values() for m in msgs]
                    mon.outstanding.clear()
                    if mon.explicit or mon.auto_replay:
                        for m in mon.backlog:
                            m["replay"] = "true"
                        for m in reversed(redo):
                            mon.backlog.appendleft({**m, "replay": "true"})
                    else:
                        mon.backlog.clear()
            self._cond.notify_all()

    def _ready(self, mon: Monitor) -> bool:
        if mon.raw_out:
            return True
        if not mon.backlog or self.faults.stall:
            return False
        duration = float(mon.fields.get("monBatchDuration", "10") or 0)
        replaying = mon.backlog[0].get("replay") == "true"
        return (
            len(mon.backlog) >= mon.batch_size
            or replaying
            or time.monotonic() - mon.queued_at >= duration
        )

    def _take_block(self, mon: Monitor) -> bytes:
        """Build the next PublishMessage from the backlog (caller holds the lock)."""
        msgs = [mon.backlog.popleft() for _ in range(min(mon.batch_size, len(mon.backlog)))]
        if mon.backlog:
            mon.queued_at = time.monotonic()
        fmt = mon.fields.get("monFormatType", "json")
        if fmt == "json":
            text = codec.json_document(msgs)
            format_byte = codec.FORMAT_JSON
        else:
            text = codec.xml_document(msgs)
            format_byte = codec.FORMAT_XML
        block_id = mon.next_block
        mon.next_block = (mon.next_block + 1) & 0xFFFF
        if mon.explicit:
            mon.outstanding[block_id] = msgs
        mon.last_sent = now_iso()
        payload = text.encode("utf-8")
        compression = codec.COMPRESSION_NONE
        if mon.fields.get("monCompression") == "zlib":
            # Compressed here, not by the codec: the faults choose the deflate framing.
            wbits = {"raw": -15, "gzip": 31}.get(self.faults.deflate, 15)
            packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
            payload = packer.compress(payload) + packer.flush()
            compression = codec.COMPRESSION_ZLIB
        return codec.encode_publish_message(
            block_id,
            payload,
            count=len(msgs),
            compression=compression,
            format=format_byte,
            raw=True,
        )

    def _send_loop(self, conn: Connection, mon: Monitor) -> None:
        while not conn.closed.is_set() and not self._stopping.is_set():
            with self._cond:
                if mon.connection is not conn:
                    return
                if not self._ready(mon):
                    self._cond.wait(0.02)
                    continue
                chunks: list[bytes] = []
                while mon.raw_out:
                    chunks.append(mon.raw_out.popleft())
                if not chunks:
                    chunks.append(self._take_block(mon))
                    while self.faults.coalesce and mon.backlog and self._ready(mon):
                        chunks.append(self._take_block(mon))
                cut = False
                if self.faults.drop_mid_frame > 0 and not mon.raw_out:
                    self.faults.drop_mid_frame -= 1
                    cut = True
            self._write(conn, chunks, cut)
            if cut:
                conn.close()
                return

    def _write(self, conn: Connection, chunks: list[bytes], cut: bool) -> None:
        faults = self.faults
        if faults.delay:
            time.sleep(faults.delay)
        if cut:
            frame = chunks[0]
            with conn.write_lock:
                conn.sock.sendall(frame[: len(frame) // 2])
            return
        with conn.write_lock:
            if faults.split_bytes:
                for chunk in chunks:
                    for i in range(len(chunk)):
                        conn.sock.sendall(chunk[i : i + 1])
            else:
                conn.sock.sendall(b"".join(chunks))
