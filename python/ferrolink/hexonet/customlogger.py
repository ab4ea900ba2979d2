"""``CustomLogger``: subclass it and override :meth:`log` to route debug output elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .logger import Logger

if TYPE_CHECKING:
    from .response import Response

__all__ = ["CustomLogger"]


class CustomLogger(Logger):
    """Receives ``(masked POST body bytes, Response, error text or None)`` per request."""

    def log(self, post: bytes, r: Response, error: Optional[str]) -> None:
        """Override this; the default does nothing."""
