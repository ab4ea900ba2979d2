"""A small threaded HTTP/1.1 server that emulators build on.

An emulator subclasses :class:`HttpEmulator` and implements :meth:`HttpEmulator.handle`, which
turns an :class:`HttpRequest` into an :class:`HttpReply`. The server speaks keep-alive
HTTP/1.1 over real TLS (and optionally plain HTTP) on ephemeral loopback ports, and every
emulator gets the same fault injection (:class:`Faults`) for free.
"""

from __future__ import annotations

import abc
import contextlib
import json
import logging
import os
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, Callable, Optional, Union
from urllib.parse import parse_qs, parse_qsl, urlsplit

from ..redact import redact_url
from .service import Environment, Service

__all__ = ["Faults", "HttpEmulator", "HttpReply", "HttpRequest"]


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    client: tuple[str, int]
    scheme: str = "https"

    def query_value(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.query.get(name)
        return values[-1] if values else default

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.headers.get(name)
        return default if value is None else str(value)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self, encoding: str = "utf-8") -> dict[str, str]:
        """The urlencoded body as a dict (last value wins), blank values kept."""
        text = self.body.decode(encoding, errors="replace")
        return dict(parse_qsl(text, keep_blank_values=True, encoding=encoding))


@dataclass
class HttpReply:
    status: int = 200
    body: Union[bytes, str] = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Protocol upgrades (WebSocket): after the head is sent, the connection is handed to
    # ``takeover(reader, writer)`` on the handler's thread and closed when it returns.
    takeover: Optional[Callable[[BinaryIO, BinaryIO], None]] = None

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: Optional[list[tuple[str, str]]] = None
    ) -> HttpReply:
        return cls(status, json.dumps(data), "application/json", headers or [])

    def body_bytes(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class Faults:
    """Fault injection shared by every HTTP emulator; set fields from tests or the CLI.

    ``delay`` seconds are slept before each reply; ``truncate_next`` / ``garbage_next`` count
    down the replies that are cut short after half their body or replaced by non-HTTP bytes;
    ``close_after_reply`` closes each connection after answering (no keep-alive).
    """

    delay: float = 0.0
    truncate_next: int = 0
    garbage_next: int = 0
    close_after_reply: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, name: str) -> bool:
        """Consume one pending fault named ``name`` (``truncate_next``/``garbage_next``)."""
        with self._lock:
            left: int = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False

    def reset(self) -> None:
        self.delay, self.truncate_next, self.garbage_next = 0.0, 0, 0
        self.close_after_reply = False


_MAX_LINE = 65536
_MAX_HEADERS = 100


def _shutdown_tcp(connection: socket.socket) -> None:
    """End the TCP connection under any TLS layer, from a thread that does not own it.

    A duplicate descriptor shares the socket, so the owner's thread sees end of stream and no
    TLS state is touched from here.
    """
    try:
        raw = socket.socket(fileno=os.dup(connection.fileno()))
    except OSError:
        return  # already closed
    with raw, contextlib.suppress(OSError):
        raw.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # Connection state, guarded by ``state_lock`` so that the idle-close fault and a request
    # starting on the connection exclude each other: ``busy`` while a request is handled,
    # ``answered`` once one reply went out, ``cut`` once the server closed the connection.
    def setup(self) -> None:
        super().setup()
        self.state_lock = threading.Lock()
        self.busy = self.answered = self.cut = False
        self.server.track(self, True)

    def finish(self) -> None:
        with self.state_lock:
            self.cut = True  # from here on the socket may be closed: never shut it down
        try:
            super().finish()
        finally:
            self.server.track(self, False)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            with self.state_lock:
                self.answered = self.answered or self.busy
                self.busy = False

    def begin(self) -> bool:
        """Claim the connection for a request that arrived; False if the server cut it first.

        A request that raced the idle close is dropped unanswered, as on a real server that
        closed the connection before the request reached it.
        """
        with self.state_lock:
            self.busy = not self.cut
            return self.busy

    def cut_if(self, idle_only: bool) -> bool:
        """Shut the connection down (TCP level) unless ``idle_only`` and it is not idle."""
        with self.state_lock:
            if self.cut or (idle_only and (self.busy or not self.answered)):
                return False
            self.cut = True
            _shutdown_tcp(self.connection)
            return True

    def parse_request(self) -> bool:
        """Request line and headers, without the stdlib's email parser.

        ``http.client.parse_headers`` costs ~100 us a request, more than everything else the
        emulators do; benchmarks that share a sandbox would measure it instead of the clients.
        """
        self.command = ""
        self.request_version = self.default_request_version
        self.close_connection = True
        if not self.begin():
            return False
        raw: bytes = getattr(self, "raw_requestline", b"")  # set by handle_one_request
        self.requestline = str(raw, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.request_version = "HTTP/1.0"  # answer with a status line, not HTTP/0.9
            self.send_error(400, f"Bad request line {self.requestline[:100]!r}")
            return False
        self.command, path, self.request_version = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        headers = Message()
        for _ in range(_MAX_HEADERS):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(431, "Header line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name.strip():
                self.send_error(400, f"Malformed header line {line[:100]!r}")
                return False
            headers[name.strip()] = value.strip()
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers
        connection = headers.get("Connection", "").lower()
        self.close_connection = "close" in connection or (
            self.request_version == "HTTP/1.0" and "keep-alive" not in connection
        )
        if headers.get("Expect", "").lower() == "100-continue":
            return self.handle_expect_100()
        return True

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        request = HttpRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            client=self.client_address[:2],
            scheme=self.server.scheme,
        )
        faults = emulator.faults
        if faults.delay:
            time.sleep(faults.delay)
        if faults.take("garbage_next"):
            self.wfile.write(b"\x00\x01garbage, not HTTP\r\n\r\n")
            self.close_connection = True
            return
        try:
            reply = emulator.handle(request)
        except Exception:
            emulator.log.exception(
                "emulator %s failed on %s %s", emulator.name, self.command, parts.path
            )
            reply = HttpReply(500, "internal emulator error")
        if reply.takeover is not None:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            reply.takeover(self.rfile, self.wfile)  # type: ignore[arg-type]
            return
        payload = reply.body_bytes()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if faults.close_after_reply:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if faults.take("truncate_next"):
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> Optional[bytes]:
        """The request body (Content-Length or chunked); None after answering a bad one."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.send_error(400, "bad chunk size")
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return None
        return self.rfile.read(length) if length > 0 else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries query parameters such as ``token=``: masked like every log.
        shown = [redact_url(arg) if isinstance(arg, str) else arg for arg in args]
        self.server.emulator.log.debug("%s " + format, self.client_address[0], *shown)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], emulator: HttpEmulator, context: Optional[ssl.SSLContext]
    ) -> None:
        self.emulator = emulator
        self.context = context
        self.scheme = "https" if context else "http"
        self.handlers: set[_Handler] = set()
        self.handlers_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a slow or broken
        # client never stalls the accept loop.
        # Replies are written in two parts (head, body): without NODELAY, Nagle plus the
        # peer's delayed ACK would add ~40 ms to every keep-alive request.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.context is not None:
            request.settimeout(30)
            try:
                tls = self.context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                self.emulator.log.debug("TLS handshake failed: %s", exc)
                return
            # ``tls`` now owns the descriptor (``request`` is detached): close it here, since
            # the caller only closes the socket it passed in.
            with tls:
                tls.settimeout(None)
                super().finish_request(tls, client_address)
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-reply (an aborted request, a held-open POST answered early)
        # is routine for a server: one line, no traceback. Anything else keeps its traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLEOFError)):
            self.emulator.log.debug("client %s went away: %s", client_address, exc)
            return
        self.emulator.log.debug("connection error from %s", client_address, exc_info=True)

    def track(self, handler: _Handler, alive: bool) -> None:
        with self.handlers_lock:
            if alive:
                self.handlers.add(handler)
            else:
                self.handlers.discard(handler)

    def close_connections(self, idle_only: bool) -> int:
        with self.handlers_lock:
            handlers = list(self.handlers)
        return sum(handler.cut_if(idle_only) for handler in handlers)


class HttpEmulator(Service):
    """Base of HTTP emulators: implement :meth:`handle`; serving, TLS and faults are done here.

    ``serve_plain`` also opens a plain-HTTP port (``urls["http"]``) next to the TLS one.
    """

    serve_plain: bool = False

    def __init__(self) -> None:
        self.faults = Faults()
        self.log = logging.getLogger(f"ferrolink.sandbox.{self.name or type(self).__name__}")
        self._servers: list[_Server] = []
        self._urls: dict[str, str] = {}

    @abc.abstractmethod
    def handle(self, request: HttpRequest) -> HttpReply:
        """Answer one request. Runs on the connection's thread: guard shared state."""

    def configure(self, env: Environment) -> None:
        """Hook: read per-service options before the ports open."""

    def start(self, env: Environment) -> None:
        self.configure(env)
        contexts: list[tuple[str, Optional[ssl.SSLContext]]] = [("https", env.tls.server_context())]
        if self.serve_plain:
            contexts.append(("http", None))
        for scheme, context in contexts:
            server = _Server((env.host, env.port(scheme)), self, context)
            port = server.server_address[1]
            self._urls[scheme] = f"{scheme}://{env.host}:{port}"
            threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"sandbox-{self.name}-{scheme}",
                daemon=True,
            ).start()
            self._servers.append(server)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.close_connections(idle_only=False)
            server.server_close()
        self._servers.clear()

    @property
    def urls(self) -> dict[str, str]:
        return dict(self._urls)

    def close_idle_connections(self) -> int:
        """Close every kept-alive connection that is waiting for its next request."""
        return sum(server.close_connections(idle_only=True) for server in self._servers)
