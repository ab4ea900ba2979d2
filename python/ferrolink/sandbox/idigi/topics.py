"""Which monitor topics (``DataPoint/stream``, ``DeviceCore[U,D]``...) an event matches."""

from __future__ import annotations

from urllib.parse import unquote

__all__ = ["topic_matches"]

_OP_LETTER = {"CREATE": "C", "INSERT": "C", "INSERTION": "C", "UPDATE": "U", "DELETE": "D"}


def topic_matches(topic: str, event_type: str, operation: str, path: str) -> bool:
    base, _, rest = topic.partition("[")
    ops = {o.strip().upper() for o in rest.rstrip("]").split(",")} if rest else set()
    base_type, _, scope = base.partition("/")
    if base_type != event_type:
        return False
    if ops and _OP_LETTER.get(operation.upper(), operation[:1].upper()) not in ops:
        return False
    if scope:
        return path.startswith(unquote(scope))
    return True
