"""``ResponseTemplate``: a parsed response with the basic accessors.

Raw input may be ``str`` or bytes (UTF-8, latin-1 when that fails). ``""``/``None`` give the
423 "Empty API response" template; a text without CODE or DESCRIPTION gives the 423
"Invalid API response" template.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from .. import _core
from ..errors import ProtocolError
from . import responseparser

__all__ = [
    "EMPTY_TEMPLATE",
    "INVALID_TEMPLATE",
    "InvalidNumberError",
    "RawResponse",
    "ResponseTemplate",
    "response_int",
]

RawResponse = Union[str, bytes, bytearray, memoryview, None]

EMPTY_TEMPLATE = (
    "[RESPONSE]\r\nCODE=423\r\n"
    "DESCRIPTION=Empty API response. Probably unreachable API end point {CONNECTION_URL}\r\nEOF\r\n"
)
INVALID_TEMPLATE = (
    "[RESPONSE]\r\nCODE=423\r\nDESCRIPTION=Invalid API response. Contact Support\r\nEOF\r\n"
)


def decode(raw: RawResponse) -> str:
    """Response bytes as text: UTF-8, or latin-1 when they are not valid UTF-8."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    kind = type(raw).__name__
    raise TypeError(f'Type "{kind}" is not allowed for parameter "response". Use "str" instead.')


class InvalidNumberError(ProtocolError, ValueError):
    """A response field that must be an integer (``CODE``, a paging value) is not one. A
    ``ValueError`` too, which is what the original raised."""


def response_int(name: str, value: str) -> int:
    """``int(value)`` of a response field; a value that is not an integer (or has more digits
    than Python converts) raises :class:`InvalidNumberError` naming ``name``."""
    try:
        return int(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidNumberError(f"HEXONET response {name} is not an integer: {shown!r}") from None


class ResponseTemplate:
    """Base class of :class:`~ferrolink.hexonet.response.Response`."""

    _hash: dict[str, Any]
    # The text: ``_text``, or when the response came as UTF-8 bytes, ``_body`` decoded on
    # first use (most callers never ask for the plain text, and a list page can be MBs).
    _text: Optional[str] = None
    _body: bytes = b""
    # The record dicts, once built (see Response).
    _rows: Optional[list[dict[str, str]]] = None
    # A one-record response's record as the parser gave it, while ``_hash`` holds ``None`` at
    # the place of the ``PROPERTY`` table built from it on first need (see ``_full_hash``).
    _pending_row: Optional[dict[str, str]] = None

    def __init__(self, response: RawResponse = "") -> None:
        self._init_template(response)

    def _init_template(self, response: RawResponse) -> None:
        text: Optional[str]
        row: Optional[dict[str, str]] = None
        if type(response) is bytes:  # the hot path: an HTTP body, parsed in place
            result = _core.hexonet_parse_body(response)
            if result is None:  # not UTF-8
                text = response.decode("latin-1")
                parsed = _core.hexonet_parse(text)
            else:
                parsed, row = result
                text = None
        elif isinstance(response, dict):
            raise TypeError(
                'Type "dict" is not allowed for parameter "response". Use type "string" instead.'
            )
        else:
            if response is None or (isinstance(response, str) and response == ""):
                text = EMPTY_TEMPLATE
            else:
                text = decode(response)
            parsed = _core.hexonet_parse(text)
        if "CODE" not in parsed or "DESCRIPTION" not in parsed:
            text = INVALID_TEMPLATE
            parsed = responseparser.parse(text)
            row = None
        if text is None:
            self._body = response  # type: ignore[assignment]  # bytes: checked above
        self._text = text
        self._hash = parsed
        self._rows = None
        self._pending_row = row

    def _full_hash(self) -> dict[str, Any]:
        """``_hash`` with its ``PROPERTY`` table, built now from the pending one-record row
        (it replaces the ``None`` the parser left, so the key keeps its place)."""
        row = self._pending_row
        if row is not None:
            self._pending_row = None
            if self._rows is None:
                self._rows = [row]
            self._hash["PROPERTY"] = {key: [value] for key, value in row.items()}
        return self._hash

    @property
    def _raw(self) -> str:
        text = self._text
        if text is None:
            text = self._text = self._body.decode("utf-8")
        return text

    def _may_have_placeholder(self) -> bool:
        """Cheap pre-check for ``{KEY}`` placeholders, without decoding a lazy body."""
        return "{" in self._text if self._text is not None else b"{" in self._body

    def getCode(self) -> int:
        """The code as an int; :class:`InvalidNumberError` when it is not one."""
        return response_int("CODE", self._hash["CODE"])

    def getDescription(self) -> str:
        description: str = self._hash["DESCRIPTION"]
        return description

    def getPlain(self) -> str:
        return self._raw

    def getQueuetime(self) -> float:
        return float(self._hash["QUEUETIME"]) if "QUEUETIME" in self._hash else 0.0

    def getHash(self) -> dict[str, Any]:
        """The parsed dict itself (mutating it changes later accessor results)."""
        return self._full_hash()

    def getRuntime(self) -> float:
        return float(self._hash["RUNTIME"]) if "RUNTIME" in self._hash else 0.0

    def isError(self) -> bool:
        """A 5xx code, or an empty ``CODE=`` (the original raised ``IndexError`` for that)."""
        return self._hash["CODE"][:1] in ("5", "")

    def isSuccess(self) -> bool:
        return bool(self._hash["CODE"][:1] == "2")

    def isTmpError(self) -> bool:
        return bool(self._hash["CODE"][:1] == "4")

    def isPending(self) -> bool:
        return bool(self._hash.get("PENDING") == "1")

    # snake_case aliases
    get_code = getCode
    get_description = getDescription
    get_plain = getPlain
    get_queuetime = getQueuetime
    get_hash = getHash
    get_runtime = getRuntime
    is_error = isError
    is_success = isSuccess
    is_tmp_error = isTmpError
    is_pending = isPending

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._hash.get('CODE')} {self._hash.get('DESCRIPTION')!r}>"
