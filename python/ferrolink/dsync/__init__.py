"""``ferrolink.dsync``: DSYNC realtime requests, data layouts and a connector helper.

A drop-in for the ``dsync`` package of ``dsync-sdk`` (change the import)::

    from ferrolink import dsync

    request = dsync.RealtimeRequest("yourAuthToken", "yourEntityToken")
    request.create({"sku": "ABC-123"})      # POST, returns the decoded reply
    request.update({"sku": "ABC-123"})      # PUT with the JSON body
    request.delete("ABC-123")               # DELETE with Entity-Id

For asyncio programs, :class:`AsyncRealtimeRequest` has the same API with coroutines.

Data layouts are built with :class:`Field`, :class:`Endpoint` and :class:`DataLayout`, and
served by :class:`Connector` (a WSGI app) or any framework via :func:`layout_envelope`;
:class:`ConnectorClient` checks a connector as the DSYNC platform would.
"""

from __future__ import annotations

from .async_realtime import AsyncRealtimeRequest
from .connector import Connector, ConnectorError, ConnectorRequest
from .connector_client import ConnectorClient, PlatformError
from .data_layout import (
    TYPE_BOOLEAN,
    TYPE_CUSTOM,
    TYPE_DATE,
    TYPE_DATETIME,
    TYPE_EMAIL,
    TYPE_MATH,
    TYPE_NUMBER,
    TYPE_OBJECT,
    TYPE_TEXT,
    TYPE_TIME,
    TYPE_URL,
    DataLayout,
    Endpoint,
    Field,
    LayoutTypeError,
    ValidationException,
    layout_envelope,
)
from .entity_token import DEFAULT_TOKEN_PREFIX, generate_entity_token
from .realtime import (
    DEFAULT_ENDPOINT,
    InvalidRealtimeRequest,
    RealtimeRequest,
    RealtimeRequestException,
)
from .rules import FIELD_TYPES, envelope_problems, layout_problems

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_TOKEN_PREFIX",
    "FIELD_TYPES",
    "TYPE_BOOLEAN",
    "TYPE_CUSTOM",
    "TYPE_DATE",
    "TYPE_DATETIME",
    "TYPE_EMAIL",
    "TYPE_MATH",
    "TYPE_NUMBER",
    "TYPE_OBJECT",
    "TYPE_TEXT",
    "TYPE_TIME",
    "TYPE_URL",
    "AsyncRealtimeRequest",
    "Connector",
    "ConnectorClient",
    "ConnectorError",
    "ConnectorRequest",
    "DataLayout",
    "Endpoint",
    "Field",
    "InvalidRealtimeRequest",
    "LayoutTypeError",
    "PlatformError",
    "RealtimeRequest",
    "RealtimeRequestException",
    "ValidationException",
    "envelope_problems",
    "generate_entity_token",
    "layout_envelope",
    "layout_problems",
]
