"""ferrolink's codecs through libferrolink's C ABI and cffi: one wheel for CPython and PyPy.

The names are those of the main ``ferrolink`` package (``FrameDecoder``, the frame classes and
their fields, ``parse``, the error classes); use this package where cffi is the fast path (PyPy)
and ``ferrolink`` itself on CPython.

- :mod:`ferrolink_ffi.idigi`: ``FrameDecoder``, the frame classes, encoders, ``inflate``;
- :mod:`ferrolink_ffi.hexonet`: ``parse``, ``command_block``, ``post_data``;
- :mod:`ferrolink_ffi.myqtthub`: ``publish_body``, ``decode_pull``;
- :mod:`ferrolink_ffi.errors`: the error classes.
"""

from __future__ import annotations

from . import errors, hexonet, idigi, myqtthub
from ._abi import ffi, lib
from .errors import FerrolinkError, InvalidArgumentError, ProtocolError, TransportError
from .idigi import FrameDecoder, FrameError, inflate

__all__ = [
    "FerrolinkError",
    "FrameDecoder",
    "FrameError",
    "InvalidArgumentError",
    "ProtocolError",
    "TransportError",
    "__version__",
    "errors",
    "ffi",
    "hexonet",
    "idigi",
    "inflate",
    "lib",
    "myqtthub",
]

__version__: str = ffi.string(lib.fl_version()).decode("ascii")
