"""Broadcasts, responses and the answers to ``request()``, as the sync and async runtimes send them.

On the 5.0 wire a request is a broadcast whose POST the server holds open for the response
window and then answers with every response posted for it. A ferrolink responder also
*announces* its response on the request's channel as a broadcast named :data:`ANNOUNCEMENT`
with payload ``{"id": <request id>, "payload": <response>}``. Other SDKs listen by name, so
they ignore it. A ferrolink requester learns its request's id from the server's echo of its
own broadcast (every subscriber of a channel, the sender included, receives it) and returns
on the first announcement for that id, long before the window closes; with any other
responder the held-open POST still brings the answer.

The echo carries no sender, so two identical requests (same channel, name and payload) in
flight at once may swap answers; both asked the same question. The sync and async runtimes
share everything here.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import Any, Callable, Optional

from .errors import RequestTimeout, ResponderError, UsageError
from .session import Call

__all__ = [
    "ANNOUNCEMENT",
    "ERROR_KEY",
    "PendingRequest",
    "Replies",
    "answer_of",
    "broadcast_call",
    "checked_answer",
    "failed_answer",
    "first_answer",
    "respond_calls",
]

log = logging.getLogger("ferrolink.exp")

ANNOUNCEMENT = "$response"
# A responder that raised answers with this envelope; requesters turn it into Channel.Error.
ERROR_KEY = "$error"
BROADCASTS = "/api/networks/current/broadcasts"
RESPONSES = "/api/networks/current/responses"


def broadcast_call(channel: str, name: Any, payload: Any, window: Any) -> Call:
    """The broadcast of ``name`` on channel id ``channel``, collecting responses for ``window``
    seconds (sent as integer milliseconds)."""
    if not isinstance(name, str):
        raise UsageError(f"broadcast name must be a string, got {type(name).__name__}")
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not window >= 0:
        raise UsageError(f"timeout must be a non-negative number of seconds, got {window!r}")
    return Call(
        "POST",
        BROADCASTS,
        {"channel": channel, "name": name, "payload": payload},
        {"timeout": int(window * 1000)},
        window=float(window),
    )


def respond_calls(broadcast_id: Any, channel: Any, response: Any) -> tuple[Call, Call]:
    """Answering a broadcast: the announcement for ferrolink requesters (first: it is the
    fast path), then the response the server hands to the held-open broadcast POST."""
    return (
        Call(
            "POST",
            BROADCASTS,
            {
                "channel": channel,
                "name": ANNOUNCEMENT,
                "payload": {"id": broadcast_id, "payload": response},
            },
            {"timeout": 0},
        ),
        Call("POST", RESPONSES, {"id": broadcast_id, "channel": channel, "payload": response}),
    )


def checked_answer(result: Any) -> Any:
    """A responder's result, once known to be JSON-serialisable (else it raises)."""
    json.dumps(result)
    return result


def failed_answer(name: str, exc: BaseException) -> dict[str, str]:
    """The response of a responder that raised: the requester raises ``ResponderError``."""
    log.warning("responder %r failed: %s", name, exc)
    return {ERROR_KEY: f"{type(exc).__name__}: {exc}"}


def answer_of(response: Any) -> Any:
    """The payload of one response, or ``ResponderError`` for the error envelope."""
    if isinstance(response, dict) and set(response) == {ERROR_KEY}:
        raise ResponderError(str(response[ERROR_KEY]))
    return response


def first_answer(responses: Any, name: str, timeout: float) -> Any:
    """The answer in a broadcast reply (a list of responses), or ``RequestTimeout``."""
    if not isinstance(responses, list) or not responses:
        raise RequestTimeout(f"no response to {name!r} within {timeout:g} s")
    return answer_of(responses[0])


def _signature(channel: Any, name: Any, payload: Any) -> tuple[str, str, str]:
    try:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(payload)  # the POST itself will refuse it
    return str(channel), str(name), text


class PendingRequest:
    """One request in flight: ``deliver(response)`` is called with its first announced answer."""

    __slots__ = ("deliver", "id", "signature")

    def __init__(self, signature: tuple[str, str, str], deliver: Callable[[Any], None]) -> None:
        self.signature = signature
        self.deliver = deliver
        self.id: Optional[str] = None


class Replies:
    """The requests of one runtime awaiting an answer; fed every broadcast the bus receives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unbound: dict[tuple[str, str, str], deque[PendingRequest]] = {}
        self._by_id: dict[str, PendingRequest] = {}

    def expect(
        self, channel: str, name: str, payload: Any, deliver: Callable[[Any], None]
    ) -> PendingRequest:
        """Register a request before its broadcast is sent."""
        pending = PendingRequest(_signature(channel, name, payload), deliver)
        with self._lock:
            self._unbound.setdefault(pending.signature, deque()).append(pending)
        return pending

    def forget(self, pending: PendingRequest) -> None:
        with self._lock:
            queue = self._unbound.get(pending.signature)
            if queue is not None and pending in queue:
                queue.remove(pending)
                if not queue:
                    del self._unbound[pending.signature]
            if pending.id is not None:
                self._by_id.pop(pending.id, None)

    def observe(self, message: dict[str, Any]) -> None:
        """Bind a request to the id of its echo, or deliver an announced answer."""
        if message.get("name") == ANNOUNCEMENT:
            body = message.get("payload")
            if not isinstance(body, dict) or not isinstance(body.get("id"), str):
                return
            with self._lock:
                pending = self._by_id.pop(body["id"], None)
            if pending is not None:
                pending.deliver(body.get("payload"))
            return
        broadcast_id = message.get("id")
        if not isinstance(broadcast_id, str):
            return
        signature = _signature(message.get("channel"), message.get("name"), message.get("payload"))
        with self._lock:
            queue = self._unbound.get(signature)
            if not queue:
                return
            pending = queue.popleft()
            if not queue:
                del self._unbound[signature]
            pending.id = broadcast_id
            self._by_id[broadcast_id] = pending
