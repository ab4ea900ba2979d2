"""``Logger``: the default debug output of :class:`~ferrolink.hexonet.apiclient.APIClient`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .response import Response

__all__ = ["Logger"]


class Logger:
    """Prints the command, the masked POST body, any transport error and the response.

    Unlike the original, the error line goes to stderr (the original printed the stream's
    repr to stdout).
    """

    def log(self, post: bytes, r: Response, error: Optional[str]) -> None:
        print(r.getCommandPlain())
        print(post)
        if error:
            print(f"HTTP communication failed: {error}", file=sys.stderr)
        print(r.getPlain())
