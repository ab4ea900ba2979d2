"""``ferrolink.myqtthub``: the MyQttHub REST bridge to MQTT.

>>> with Client("dev-01", "alice", "s3cret") as hub:
...     hub.subscribe([("sensors/#", 1)])
...     hub.publish("sensors/t1", b"21.5", qos=1)
...     hub.pull(wait=5)
[{'topic': 'sensors/t1', 'payload': b'21.5', 'qos': 1, ...}]

For asyncio programs, :class:`AsyncClient` has the same API with coroutines.

The ASPL tutorial's functional style works too: :func:`create_myqtthub_session`,
:func:`publish`, :func:`logout`; its session's ``conn`` answers the tutorial's raw
``conn.request(...)`` / ``conn.getresponse()`` calls like ``http.client``.
"""

from __future__ import annotations

from .async_client import AsyncClient
from .client import DEFAULT_HOST, Client, Payload
from .connection import Connection, ConnectionResponse
from .errors import AuthenticationError, MyQttHubError, PublishError
from .session import create_myqtthub_session, logout, publish, pull, subscribe
from .topics import filter_problem, matches, topic_problem

__all__ = [
    "DEFAULT_HOST",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Connection",
    "ConnectionResponse",
    "MyQttHubError",
    "Payload",
    "PublishError",
    "create_myqtthub_session",
    "filter_problem",
    "logout",
    "matches",
    "publish",
    "pull",
    "subscribe",
    "topic_problem",
]
