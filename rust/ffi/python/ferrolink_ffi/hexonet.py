"""HEXONET: the response parser and the request encoder, over libferrolink.

:func:`parse` returns the structure ``ferrolink.hexonet.responseparser.parse`` returns:

>>> parse("[RESPONSE]\\r\\ncode = 200\\r\\nPROPERTY[DOMAIN][0] = example.com\\r\\nEOF\\r\\n")
{'CODE': '200', 'PROPERTY': {'DOMAIN': ['example.com']}}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional, Union

from ._abi import check, consume, ffi, lib, view

__all__ = ["command_block", "parse", "post_data"]


def _text(data: Any) -> str:
    return view(data).decode("utf-8", "surrogatepass")


def parse(raw: str) -> dict[str, Any]:
    """The response hash: ``{"CODE": "200", ..., "PROPERTY": {"NAME": ["v0", ...]}}``.

    Never raises for any ``str`` (lone surrogates included): lines that are not
    ``KEY = VALUE`` are skipped, and a top-level key ``PROPERTY`` (no brackets) is ignored.
    """
    if not isinstance(raw, str):
        raise TypeError(f"parse expects str, got {type(raw).__name__}")
    # A lone surrogate has no UTF-8 form: it crosses as its surrogatepass bytes and comes back.
    data = raw.encode("utf-8", "surrogatepass")
    out = ffi.new("const FlHexonetResponse **")
    check(lib.fl_hexonet_parse(data, len(data), out))
    response = out[0]
    try:
        result: dict[str, Any] = {}
        top = response.top
        # The keys in the original's order: PROPERTY where the first property line was.
        for i in range(response.property_at):
            result[_text(top[i].key)] = _text(top[i].value)
        if response.columns_len:
            names = [_text(response.columns[i]) for i in range(response.columns_len)]
            columns: list[list[str]] = [[] for _ in names]
            values = response.values
            for i in range(response.values_len):
                columns[values[i].column].append(_text(values[i].value))
            result["PROPERTY"] = dict(zip(names, columns))
        for i in range(response.property_at, response.top_len):
            result[_text(top[i].key)] = _text(top[i].value)
        return result
    finally:
        lib.fl_hexonet_response_free(response)


def _slice(text: Optional[str], keep: list[Any]) -> Any:
    """A ``FlSlice`` initialiser for ``text`` (NULL for None); ``keep`` holds the bytes alive."""
    if text is None:
        return [ffi.NULL, 0]
    data = ffi.from_buffer("uint8_t[]", text.encode("utf-8"))
    keep.append(data)
    return [data, len(data)]


def command_block(pairs: Iterable[tuple[str, str]]) -> str:
    """``KEY=VALUE`` lines, in the given order, CR/LF removed from values, joined by ``\\n``."""
    keep: list[Any] = []
    entries = [[_slice(key, keep), _slice(value, keep)] for key, value in pairs]
    array = ffi.new("FlHexonetEntry[]", entries)
    out = ffi.new("FlBuffer *")
    check(lib.fl_hexonet_command_block(array, len(entries), out))
    return consume(out).decode("utf-8")


def post_data(
    command: Union[str, Iterable[tuple[str, str]]],
    *,
    entity: Optional[str] = None,
    login: Optional[str] = None,
    otp: Optional[str] = None,
    pw: Optional[str] = None,
    remoteaddr: Optional[str] = None,
    session: Optional[str] = None,
    user: Optional[str] = None,
    secured: bool = False,
) -> str:
    """The form body ``s_<field>=...&...&s_command=...``; ``command`` is the block text or pairs.

    ``secured`` masks the password field and every ``PASSWORD=`` line as ``***`` (for logs).
    """
    block = command if isinstance(command, str) else command_block(command)
    keep: list[Any] = []
    fields = (entity, login, otp, pw, remoteaddr, session, user)
    connection = ffi.new("FlHexonetConnection *", [_slice(f, keep) for f in fields])
    text = block.encode("utf-8")
    out = ffi.new("FlBuffer *")
    check(lib.fl_hexonet_post_data(connection, text, len(text), secured, out))
    return consume(out).decode("utf-8")
