"""A push session: the Rust thread reads the socket; a Python thread runs the callbacks.

The Rust side (``_core.IdigiPushSession``) connects, handshakes, reassembles and inflates frames
without the GIL and queues them (bounded: reading pauses while the queue is full). This module's
dispatcher thread takes frames in batches, calls the user's callback, and queues acks according
to the ack policy. A callback exception is logged and reported, and delivery goes on.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from operator import itemgetter
from typing import Any, Callable, Optional

from .. import _core, errors
from .codec import (
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_INFLATED_PER_FEED,
    DEFAULT_MAX_PAYLOAD_SIZE,
    FORMAT_JSON,
)

__all__ = [
    "ACK_POLICIES",
    "PushSession",
    "SessionOptions",
    "log_state",
    "payload_value",
    "session_error",
]

log = logging.getLogger("ferrolink.idigi")

#: ``success``: ack unless the callback raised or returned exactly ``False``;
#: ``truthy``: ack only on a truthy return (the originals' rule); ``always``; ``never``.
ACK_POLICIES = ("success", "truthy", "always", "never")

Callback = Callable[[Any], Any]
StateHook = Callable[[str, str], Any]
ErrorHook = Callable[[BaseException], Any]


class SessionOptions:
    """Connection settings shared by every session of a client (see ``PushClient``).

    ``max_frame_size``, ``max_payload_size`` and ``max_inflated_per_feed`` are the decoder's
    limits (see :class:`~ferrolink.idigi.codec.FrameDecoder`): a frame or an inflated payload
    over them is reported as a :class:`~ferrolink.errors.ProtocolError` and the session
    reconnects, so a decompression bomb from the server never swells the process.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: bool,
        ca_file: Optional[str] = None,
        server_name: Optional[str] = None,
        connect_timeout: float = 10.0,
        idle_timeout: Optional[float] = None,
        keepalive: Optional[float] = 30.0,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        max_inflated_per_feed: int = DEFAULT_MAX_INFLATED_PER_FEED,
        queue_frames: int = 4096,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_attempts: Optional[int] = None,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.ca_file = ca_file
        self.server_name = server_name
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.keepalive = keepalive
        self.max_frame_size = max_frame_size
        self.max_payload_size = max_payload_size
        self.max_inflated_per_feed = max_inflated_per_feed
        self.queue_frames = queue_frames
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts

    def open(self, username: str, password: str, monitor_id: int) -> _core.IdigiPushSession:
        """Start the Rust session: it connects, reads and reconnects on its own thread."""
        return _core.IdigiPushSession(
            self.host,
            self.port,
            username,
            password,
            monitor_id,
            tls=self.tls,
            ca_file=self.ca_file,
            server_name=self.server_name,
            connect_timeout=self.connect_timeout,
            idle_timeout=self.idle_timeout,
            keepalive=self.keepalive,
            max_frame_size=self.max_frame_size,
            max_payload_size=self.max_payload_size,
            max_inflated_per_feed=self.max_inflated_per_feed,
            queue_frames=self.queue_frames,
            backoff_initial=self.backoff_initial,
            backoff_max=self.backoff_max,
            max_attempts=self.max_attempts,
        )


def payload_value(payload: bytes, fmt: int, parsed: bool) -> Any:
    """A frame's payload as text, or decoded JSON when ``parsed`` (XML stays text).

    Raises ValueError (UnicodeDecodeError, JSONDecodeError) for an undecodable payload,
    nesting too deep for the parser included."""
    text = payload.decode("utf-8")
    if parsed and fmt == FORMAT_JSON:
        try:
            return json.loads(text)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
    return text


def session_error(event: tuple[Any, ...], monitor_id: int) -> errors.FerrolinkError:
    """The exception for an ``("error", exception)`` session event, naming the monitor."""
    error: errors.FerrolinkError = event[1]
    return type(error)(f"monitor {monitor_id}: {error}", host=error.host)


def log_state(monitor_id: int, state: str, detail: str) -> None:
    level = logging.WARNING if state in ("disconnected", "failed") else logging.INFO
    log.log(level, "idigi monitor %s push session %s: %s", monitor_id, state, detail)


class PushSession:
    """One monitor's push connection. Created (and started) by ``PushClient.create_session``.

    ``callback`` receives the payload text (JSON or XML, as sent), or with ``parsed=True`` the
    decoded JSON (XML stays text), or with ``batch=True`` a list of those for every block
    available at once. ``on_state(state, detail)`` sees connecting / connected / disconnected /
    failed / stopped; ``on_error(exc)`` sees every reported failure.

    Delivery is at least once on ``ack="explicit"`` monitors: if the connection drops after the
    callback ran but before its ack reached the server, the server sends those events again
    after the reconnect (each message marked ``replay="true"``, in a new block with a new id, so
    block ids cannot spot the repeat). Make the callback idempotent: key what it stores on the
    message's ``topic``, ``timestamp`` and ``operation``.
    """

    def __init__(
        self,
        callback: Callback,
        monitor_id: int,
        username: str,
        password: str,
        options: SessionOptions,
        *,
        parsed: bool = False,
        batch: bool = False,
        ack_policy: str = "success",
        on_state: Optional[StateHook] = None,
        on_error: Optional[ErrorHook] = None,
    ) -> None:
        if not callable(callback):
            raise errors.InvalidArgumentError("callback must be callable")
        if ack_policy not in ACK_POLICIES:
            raise errors.InvalidArgumentError(
                f"ack_policy must be one of {', '.join(ACK_POLICIES)}, got {ack_policy!r}"
            )
        self.callback = callback
        self.monitor_id = monitor_id
        self.parsed = parsed
        self.batch = batch
        self.ack_policy = ack_policy
        self.on_state = on_state
        self.on_error = on_error
        self.state = "new"
        self.delivered = 0
        self._stopping = threading.Event()
        self._native = options.open(username, password, monitor_id)
        self._thread = threading.Thread(
            target=self._dispatch, name=f"ferrolink-idigi-dispatch-{monitor_id}", daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"<PushSession monitor={self.monitor_id} state={self.state}>"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop reading and delivering; True when both threads ended within ``timeout``."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        native_done = self._native.stop(max(timeout * 0.75, 0.01))
        if threading.current_thread() is not self._thread:
            self._thread.join(max(deadline - time.monotonic(), 0.0))
        return native_done and not self._thread.is_alive()

    # -- the dispatcher thread --------------------------------------------------------------

    def _dispatch(self) -> None:
        native = self._native
        while not self._stopping.is_set():
            events, finished = native.next_events(1024, 0.1)
            if events:
                self._handle(events)
            if finished:
                break

    def _handle(self, events: list[tuple[Any, ...]]) -> None:
        values: list[Any] = []  # batch mode: what the one callback gets
        blocks: list[tuple[int, int]] = []  # ... and the (generation, block id) to ack for it
        for event in events:
            if self._stopping.is_set():
                return
            tag = event[0]
            if tag == "frame":
                _, generation, block_id, _count, _comp, fmt, payload = event
                value = self._convert(payload, fmt)
                if value is _UNUSABLE:
                    continue
                if self.batch:
                    values.append(value)
                    blocks.append((generation, block_id))
                else:
                    self._call(value, [(generation, block_id)])
            elif tag == "state":
                self._set_state(event[1], event[2])
            else:
                self._report(session_error(event, self.monitor_id))
        if values:
            self._call(values, blocks)

    def _convert(self, payload: bytes, fmt: int) -> Any:
        try:
            return payload_value(payload, fmt, self.parsed)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError
            self._report(
                errors.ProtocolError(f"monitor {self.monitor_id}: undecodable payload: {exc}")
            )
            return _UNUSABLE

    def _call(self, value: Any, blocks: list[tuple[int, int]]) -> None:
        try:
            result = self.callback(value)
        except Exception as exc:
            log.exception("idigi push callback for monitor %s raised", self.monitor_id)
            self._report(exc, logged=True)
            if self.ack_policy != "always":
                return
            result = None
        self.delivered += len(blocks)
        policy = self.ack_policy
        if (
            policy == "always"
            or (policy == "success" and result is not False)
            or (policy == "truthy" and result)
        ):
            self._ack(blocks)
        elif policy == "truthy" and result is None:
            log.debug(
                "callback for monitor %s returned None: block not acknowledged", self.monitor_id
            )

    def _ack(self, blocks: list[tuple[int, int]]) -> None:
        if len(blocks) == 1:  # the per-frame case: skip the grouping below
            self._native.ack(blocks[0][0], [blocks[0][1]])
            return
        for generation, run in itertools.groupby(blocks, key=itemgetter(0)):
            self._native.ack(generation, [block_id for _, block_id in run])

    def _set_state(self, state: str, detail: str) -> None:
        self.state = state
        log_state(self.monitor_id, state, detail)
        if self.on_state is not None:
            try:
                self.on_state(state, detail)
            except Exception:
                log.exception("idigi on_state hook raised")

    def _report(self, exc: BaseException, logged: bool = False) -> None:
        if not logged:
            log.warning("%s", exc)
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:
                log.exception("idigi on_error hook raised")


_UNUSABLE = object()
