"""``ferrolink.idigi``: iDigi / Device Cloud / Remote Manager push monitoring.

``from ferrolink.idigi import push_client`` gives the reference client's API (monitors over
REST, push sessions over TCP/TLS); :mod:`ferrolink.idigi.codec` is the binary protocol.
:class:`AsyncPushClient` is the asyncio API: monitor coroutines and
``async for event in client.events(monitor_id)``.
"""

from __future__ import annotations

from .async_client import AsyncPushClient, EventStream, PushEvent
from .client import PUSH_OPEN_PORT, PUSH_SECURE_PORT, PushClient, push_client
from .codec import (
    CONNECTION_REQUEST,
    CONNECTION_RESPONSE,
    PUBLISH_MESSAGE,
    PUBLISH_MESSAGE_RECEIVED,
    STATUS_BAD_REQUEST,
    STATUS_OK,
    STATUS_UNAUTHORIZED,
)
from .session import ACK_POLICIES, PushSession

__all__ = [
    "ACK_POLICIES",
    "CONNECTION_REQUEST",
    "CONNECTION_RESPONSE",
    "PUBLISH_MESSAGE",
    "PUBLISH_MESSAGE_RECEIVED",
    "PUSH_OPEN_PORT",
    "PUSH_SECURE_PORT",
    "STATUS_BAD_REQUEST",
    "STATUS_OK",
    "STATUS_UNAUTHORIZED",
    "AsyncPushClient",
    "EventStream",
    "PushClient",
    "PushEvent",
    "PushSession",
    "push_client",
]
