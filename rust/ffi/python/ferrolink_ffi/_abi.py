"""The raw ``ffi`` / ``lib`` of libferrolink, and the two conversions every call needs."""

from __future__ import annotations

from typing import Any

from . import _native
from .errors import FerrolinkError, InvalidArgumentError, ProtocolError

__all__ = ["check", "consume", "failure", "ffi", "lib", "view"]

# Untyped cffi objects (typed as Any whichever copy of the package a type checker finds).
ffi: Any = _native.ffi
lib: Any = _native.lib

_CLASSES: dict[int, type[FerrolinkError]] = {
    lib.FL_STATUS_INVALID_ARGUMENT: InvalidArgumentError,
    lib.FL_STATUS_NULL_POINTER: InvalidArgumentError,
    lib.FL_STATUS_PROTOCOL: ProtocolError,
}


def failure(status: int) -> FerrolinkError:
    """The exception for a failed call: its class by status, the library's message as text."""
    message = ffi.string(lib.fl_last_error()).decode("utf-8", "replace")
    return _CLASSES.get(status, FerrolinkError)(message)


def check(status: int) -> None:
    if status < 0:
        raise failure(status)


def view(data: Any) -> bytes:
    """The bytes an ``FlSlice`` shows (copied: the view dies with its owner)."""
    return ffi.buffer(data.data, data.len)[:] if data.len else b""


def consume(buffer: Any) -> bytes:
    """The bytes of a filled ``FlBuffer *``, which is freed."""
    try:
        return view(buffer)
    finally:
        lib.fl_buffer_free(buffer)
