"""The EXP sandbox: auth, document collections, data, the broadcast hub and Engine.IO v3.

What it implements:

- ``POST /api/auth/login`` for users, devices and consumer apps (HS256 JWTs verified against
  the device secret / API key; ``exp`` in ms, s or absent; ``allowPairing`` fallback) and
  ``POST /api/auth/token``; every other ``/api/*`` route wants a valid Bearer.
- Collections (devices, things, experiences, locations, connectors/feeds, content) with
  dotted-path equality filters (arrays match any element), ``limit``/``skip`` and
  ``{results, total}``; feed data; the data store keyed by (group, key).
- Delivery and layout URLs answer 200 when ``_rt`` is a valid restricted token.
- The broadcast hub: each broadcast is pushed to every subscribed socket, held open for its
  ``timeout`` and answered with the responses posted for its id.
- Engine.IO v3 at ``/socket.io/``: polling (binary framing, text with ``b64=1``) with ``40``
  sent in a later poll, and the WebSocket upgrade (``2probe``/``3probe``/``5``) on the same port.

Options (``sandbox.start(["exp"], options={"exp": {...}})``): :attr:`ExpService.OPTIONS`, and
``clock`` (a ``time.time``-like callable, Python API only).
Fault hooks: :meth:`ExpService.drop_sockets`, :meth:`ExpService.invalidate_tokens`,
:attr:`ExpService.token_ttl`, :meth:`ExpService.inject_packet`.

One concern per module: :mod:`.fixtures` (the accounts and documents it starts with),
:mod:`.state` (what every part shares), :mod:`.auth`, :mod:`.documents` (collections, feed data,
the data store), :mod:`.engineio`, :mod:`.hub` (broadcasts) and :mod:`.service` (routing).
"""

from .fixtures import (
    CONSUMER_API_KEY,
    CONSUMER_UUID,
    DEVICE_SECRET,
    DEVICE_UUID,
    EXPERIENCE_UUID,
    LOCATION_UUID,
    ORGANIZATION,
    USER,
)
from .service import ExpService

__all__ = [
    "CONSUMER_API_KEY",
    "CONSUMER_UUID",
    "DEVICE_SECRET",
    "DEVICE_UUID",
    "EXPERIENCE_UUID",
    "LOCATION_UUID",
    "ORGANIZATION",
    "USER",
    "ExpService",
]
