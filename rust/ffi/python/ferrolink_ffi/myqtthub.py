"""MyQttHub REST bridge: ``/publish`` bodies and ``/pull`` replies, over libferrolink."""

from __future__ import annotations

import json
from typing import Any, Union

from ._abi import check, consume, ffi, lib, view

__all__ = ["decode_pull", "publish_body"]


def publish_body(
    token: str,
    topic: str,
    payload: Union[bytes, bytearray, memoryview],
    qos: int = 0,
    retain: bool = False,
    dup: bool = False,
) -> bytes:
    """The ``/publish`` JSON body for one message, the payload base64-encoded in place."""
    tok, top, data = token.encode("utf-8"), topic.encode("utf-8"), bytes(payload)
    if isinstance(qos, bool) or not isinstance(qos, int) or not 0 <= qos <= 255:
        qos = 255  # out of range either way: the library names the rule
    out = ffi.new("FlBuffer *")
    check(
        lib.fl_myqtthub_publish_body(
            tok, len(tok), top, len(top), data, len(data), qos, bool(retain), bool(dup), out
        )
    )
    return consume(out)


def decode_pull(body: Union[bytes, bytearray, memoryview]) -> list[dict[str, Any]]:
    """A ``/pull`` reply as a list of dicts: ``payload`` as bytes, other members as sent."""
    data = bytes(body)
    out = ffi.new("const FlMyqtthubPull **")
    check(lib.fl_myqtthub_decode_pull(data, len(data), out))
    pull = out[0]
    try:
        messages: list[dict[str, Any]] = [{} for _ in range(pull.messages_len)]
        members = pull.members
        for i in range(pull.members_len):
            m = members[i]
            value = view(m.value)
            messages[m.message][view(m.key).decode("utf-8")] = (
                value if m.kind == lib.FL_MEMBER_KIND_PAYLOAD else json.loads(value)
            )
        return messages
    finally:
        lib.fl_myqtthub_pull_free(pull)
