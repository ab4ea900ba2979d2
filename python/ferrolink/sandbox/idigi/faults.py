"""Fault injection on the push side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["PushFaults"]


@dataclass
class PushFaults:
    """Push-side fault injection; set fields from tests (each connection reads them live).

    ``split_bytes``: write every byte separately. ``coalesce``: write every ready block in one
    ``sendall`` (one TLS record when small). ``drop_mid_frame``: count of blocks after which the
    connection is cut halfway through the frame. ``stall``: send nothing (half-open simulation).
    ``connect_status``: answer the next ConnectRequests with this status, then close.
    ``deflate``: ``"zlib"`` (default), ``"raw"`` or ``"gzip"`` framing for compressed payloads.
    ``delay``: seconds slept before each write.
    """

    split_bytes: bool = False
    coalesce: bool = False
    drop_mid_frame: int = 0
    stall: bool = False
    connect_status: Optional[int] = None
    deflate: str = "zlib"
    delay: float = 0.0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]
