"""Entity tokens: the opaque strings that tell DSYNC which layout entity a record belongs to.

Format ``<prefix>-<name>-<32 lowercase hex>``. The original SDK derived the suffix from the
microsecond field of the clock (10^6 possible values, predictable, colliding); here it comes
from the OS CSPRNG (``uuid4``), so tokens are unique in practice and unguessable.

Prefix choice: the default stays ``python-sdk``, so tokens keep the shape users
of the original SDK already persisted and may match on. Pass ``prefix=`` to choose another.
DSYNC and ferrolink treat every token as opaque: existing tokens are always accepted as-is.
"""

from __future__ import annotations

import uuid

from ..errors import InvalidArgumentError

__all__ = ["DEFAULT_TOKEN_PREFIX", "generate_entity_token"]

DEFAULT_TOKEN_PREFIX = "python-sdk"


def generate_entity_token(entity_name: str, *, prefix: str = DEFAULT_TOKEN_PREFIX) -> str:
    """A new entity token for ``entity_name``: persist it and reuse it in realtime requests.

    The name is lowercased with whitespace removed (the original removed only spaces; other
    whitespace could not travel in the ``Entity-Token`` header anyway).
    """
    if not isinstance(entity_name, str):
        raise InvalidArgumentError(f"entity_name must be a str, got {type(entity_name).__name__}")
    name = "".join(entity_name.split()).lower()
    if not name:
        raise InvalidArgumentError("entity_name must not be empty")
    token = f"{prefix}-{name}-{uuid.uuid4().hex}"
    if not token.isascii() or not token.isprintable():
        # The token travels in an HTTP header, which carries printable ASCII only.
        raise InvalidArgumentError(
            f"entity_name {entity_name!r} and prefix {prefix!r} must be printable ASCII"
        )
    return token
