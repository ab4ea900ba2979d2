"""The iDigi push monitoring emulator: REST ``/ws/Monitor``, event sources, the TCP push server.

REST (HTTPS, and plain HTTP) under ``/ws``:

- ``Monitor`` list (``start``, ``size``, ``condition``; XML, or legacy JSON with ``.json`` or
  ``Accept: application/json``), ``Monitor/{id}`` get / PUT (resets state) / DELETE, POST create
  (201 with a ``Location`` header and a ``<result><location>Monitor/N</location></result>`` body).
- Event sources: ``POST DataPoint/{stream}`` (JSON ``{"data": ...}`` or XML ``<data>``),
  ``PUT FileData/~/{device}/{path}`` (no event over 120 KB; deletes publish nothing),
  ``POST DeviceCore/{device}/connect`` / ``disconnect``, and ``POST sandbox/event``
  (JSON ``{"type", "operation", "keys", "body"}``).
- Basic auth or ``X-API-KEY-ID`` / ``X-API-KEY-SECRET``; ``throttle_next`` injects 429s.

Push (a TLS port and a plain port): ConnectRequest validation (403 bad credentials, 400 malformed
or unknown monitor), batching by ``monBatchSize`` / ``monBatchDuration``, zlib, XML or JSON
envelopes, DataBlockId rotation, explicit acks (a 6-byte ack is a loud protocol error),
re-delivery of unacknowledged blocks and replay of missed events on reconnect, recording of
everything received, and the fault modes of :class:`PushFaults`.

One concern per module: :mod:`.monitors` (a monitor and its fields), :mod:`.conditions` (the
list filter), :mod:`.topics` (topic matching), :mod:`.state` (what both sides share, event
routing), :mod:`.rest`, :mod:`.push`, :mod:`.faults`, and :mod:`.service` (the whole emulator).
"""

from .faults import PushFaults
from .service import IdigiService

__all__ = ["IdigiService", "PushFaults"]
