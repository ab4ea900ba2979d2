"""A monitor: its writable fields (validated from ``<Monitor>`` XML) and its delivery state."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional
from xml.etree import ElementTree

from .connection import Connection

__all__ = ["DEFAULTS", "Monitor", "now_iso", "parse_fields"]

DEFAULTS = {
    "monFormatType": "json",
    "monBatchSize": "100",
    "monBatchDuration": "10",
    "monCompression": "none",
    "monAckOption": "off",
    "monAutoReplayOnConnect": "false",
}
_CHOICES = {
    "monTransportType": ("tcp", "http"),
    "monFormatType": ("json", "xml"),
    "monCompression": ("none", "zlib", "gzip"),
    "monAckOption": ("off", "explicit"),
    "monAutoReplayOnConnect": ("true", "false"),
    "monTransportMethod": ("PUT", "POST"),
}
_WRITABLE = (
    "monTopic",
    "monTransportType",
    "monFormatType",
    "monBatchSize",
    "monBatchDuration",
    "monCompression",
    "monAckOption",
    "monAutoReplayOnConnect",
    "monDescription",
    "monTransportUrl",
    "monTransportToken",
    "monTransportMethod",
    "monConnectTimeout",
    "monResponseTimeout",
    "monTransportHeaders",
)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Monitor:
    id: int
    owner: str
    fields: dict[str, str]
    status: str = "INACTIVE"
    last_connect: str = ""
    last_sent: str = ""
    backlog: deque[dict[str, Any]] = field(default_factory=deque)
    queued_at: float = 0.0
    outstanding: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_block: int = 0
    connection: Optional[Connection] = None
    raw_out: deque[bytes] = field(default_factory=deque)

    def topics(self) -> list[str]:
        return [t.strip() for t in self.fields.get("monTopic", "").split(",") if t.strip()]

    @property
    def explicit(self) -> bool:
        return self.fields.get("monAckOption") == "explicit"

    @property
    def auto_replay(self) -> bool:
        return self.fields.get("monAutoReplayOnConnect") == "true"

    @property
    def batch_size(self) -> int:
        return max(int(self.fields.get("monBatchSize", "100") or 1), 1)

    def public(self, cst_id: str) -> dict[str, str]:
        out = {"monId": str(self.id), "cstId": cst_id}
        out.update(self.fields)
        out["monStatus"] = self.status
        if self.last_connect:
            out["monLastConnect"] = self.last_connect
        if self.last_sent:
            out["monLastSent"] = self.last_sent
        return out


def parse_fields(body: bytes, require: bool) -> dict[str, str]:
    """The writable fields of a ``<Monitor>`` document; ``ValueError`` names what is wrong."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ValueError(f"malformed Monitor XML: {exc}") from None
    if root.tag != "Monitor":
        raise ValueError(f"expected a <Monitor> document, got <{root.tag}>")
    fields: dict[str, str] = {}
    for child in root:
        if child.tag not in _WRITABLE:
            raise ValueError(f"unknown or read-only Monitor element <{child.tag}>")
        value = (child.text or "").strip()
        choices = _CHOICES.get(child.tag)
        if choices and value not in choices:
            raise ValueError(f"{child.tag} must be one of {', '.join(choices)}, got {value!r}")
        if child.tag in ("monBatchSize", "monBatchDuration") and not value.isdigit():
            raise ValueError(f"{child.tag} must be a non-negative integer, got {value!r}")
        fields[child.tag] = value
    if fields.get("monCompression") == "gzip":
        fields["monCompression"] = "zlib"  # "compression has always been deflate"
    if require:
        for name in ("monTopic", "monTransportType"):
            if not fields.get(name):
                raise ValueError(f"{name} is required")
    return fields
