"""``responseparser``: the plain-text response grammar, both directions.

:func:`parse` runs in the Rust core (one ``memchr`` pass, values borrowed from the input);
:func:`serialize` is the original's text form, used for templates and round trips.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import _core
from ..redact import MASK, is_secret_key

__all__ = ["mask_secrets", "parse", "serialize"]

_LINE = re.compile(
    r"^(?P<key>[^=\r\n]*?)(?P<sep>[\t ]*=[\t ]*)(?P<value>[^\r\n]*)(?=\r?$)", re.MULTILINE
)
_PROPERTY = re.compile(r"property\[(?P<name>[^\]]*)\]", re.IGNORECASE)


def parse(raw: str) -> dict[str, Any]:
    """The response hash: ``{"CODE": "200", ..., "PROPERTY": {"NAME": ["v0", ...]}}``.

    Never raises for any ``str``: lines that are not ``KEY = VALUE`` are skipped. One
    deliberate difference from the original: a top-level key ``PROPERTY`` (no brackets) is
    ignored, where the original either crashed or replaced the property table with a string.
    """
    if not isinstance(raw, str):
        raise TypeError(f"responseparser.parse expects str, got {type(raw).__name__}")
    return _core.hexonet_parse(raw)


def serialize(r: Mapping[str, Any]) -> str:
    """The hash as response text: sorted properties, then CODE/DESCRIPTION/QUEUETIME/RUNTIME.

    Lines end with ``\\r\\n``; other top-level keys are dropped (as in the original).
    """
    parts = ["[RESPONSE]"]
    properties = r.get("PROPERTY")
    if properties:
        for key in sorted(properties):
            for index, value in enumerate(properties[key]):
                parts.append(f"\r\nPROPERTY[{key}][{index}]={value}")
    for key in ("CODE", "DESCRIPTION", "QUEUETIME", "RUNTIME"):
        if key in r:
            parts.append(f"\r\n{key}={r[key]}")
    parts.append("\r\nEOF\r\n")
    return "".join(parts)


def mask_secrets(raw: str) -> str:
    """The response text with the value of every secret key or property masked, for debug
    output: e.g. ``PROPERTY[SESSION][0]`` of a ``StartSession`` reply (a live session id)."""

    def mask(m: re.Match[str]) -> str:
        key = m.group("key")
        prop = _PROPERTY.match(key.lstrip())
        name = prop.group("name") if prop else key
        if not m.group("value") or not is_secret_key(name.strip()):
            return m.group(0)
        return key + m.group("sep") + MASK

    return _LINE.sub(mask, raw)
