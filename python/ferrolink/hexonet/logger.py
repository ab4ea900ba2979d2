"""``Logger``: the default debug output of :class:`~ferrolink.hexonet.apiclient.APIClient`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional

from .responseparser import mask_secrets

if TYPE_CHECKING:
    from .response import Response

__all__ = ["Logger"]


class Logger:
    """Prints the command, the POST body and the response, every secret masked, and any
    transport error.

    Unlike the original, the error line goes to stderr (the original printed the stream's
    repr to stdout).
    """

    def log(self, post: bytes, r: Response, error: Optional[str]) -> None:
        print(r.getCommandPlain())
        print(post)
        if error:
            print(f"HTTP communication failed: {error}", file=sys.stderr)
        print(mask_secrets(r.getPlain()))
