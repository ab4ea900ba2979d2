"""The one exception hierarchy of ferrolink.

Every failure a ferrolink client raises is a :class:`FerrolinkError`. Transport failures also
derive from the stdlib class a caller would catch without knowing ferrolink
(:class:`ConnectionError`, :class:`TimeoutError`), and bad arguments from :class:`ValueError`.
Messages name the host and the cause and never contain credentials.
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "AuthenticationError",
    "ConnectError",
    "FerrolinkError",
    "InvalidArgumentError",
    "ProtocolError",
    "ServiceError",
    "TLSError",
    "TimeoutError",
    "TransportError",
]


class FerrolinkError(Exception):
    """Base of every ferrolink error. ``host`` names the server involved, when there is one."""

    host: Optional[str]

    def __init__(self, message: str = "", *, host: Optional[str] = None) -> None:
        super().__init__(message)
        self.host = host


class InvalidArgumentError(FerrolinkError, ValueError):
    """An argument was unusable (bad URL, header, timeout, CA file...)."""


class TransportError(FerrolinkError):
    """The request could not be carried out at the connection level."""


class ConnectError(TransportError, ConnectionError):
    """No connection could be made, or it broke (refused, DNS, proxy refused, reset)."""


class TimeoutError(TransportError, builtins.TimeoutError):
    """A connect, read or total timeout expired."""


class TLSError(TransportError):
    """The TLS handshake failed: unknown CA, host-name mismatch, bad certificate."""


class ProtocolError(TransportError):
    """The peer sent something that violates the protocol (malformed HTTP, bad frame...)."""


class AuthenticationError(FerrolinkError):
    """The service rejected the credentials. ``server_message`` is the server's own text."""

    server_message: Optional[str]

    def __init__(
        self,
        message: str = "",
        *,
        host: Optional[str] = None,
        server_message: Optional[str] = None,
    ) -> None:
        super().__init__(message, host=host)
        self.server_message = server_message


class ServiceError(FerrolinkError):
    """The service answered, with an error. ``status`` is the HTTP status when there is one."""

    status: Optional[int]

    def __init__(
        self, message: str = "", *, host: Optional[str] = None, status: Optional[int] = None
    ) -> None:
        super().__init__(message, host=host)
        self.status = status
