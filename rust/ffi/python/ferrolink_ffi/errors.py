"""The error classes, named and arranged as in ``ferrolink.errors`` (the subset the codecs raise).

A caller that handles ``InvalidArgumentError`` or ``ProtocolError`` from ``ferrolink`` handles the
same situations here under the same names; bad arguments are also :class:`ValueError`.
"""

from __future__ import annotations

__all__ = ["FerrolinkError", "InvalidArgumentError", "ProtocolError", "TransportError"]


class FerrolinkError(Exception):
    """Base of every ferrolink_ffi error."""


class InvalidArgumentError(FerrolinkError, ValueError):
    """An argument was unusable (not UTF-8, out of range, unencodable)."""


class TransportError(FerrolinkError):
    """Base of the failures of a conversation with a peer."""


class ProtocolError(TransportError):
    """The input violates the protocol or format (malformed frame, corrupt payload, bad reply)."""
