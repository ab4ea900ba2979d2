"""EXP's exceptions, rooted in :mod:`ferrolink.errors` so one ``except`` catches everything.

The names follow the original SDK (``ExpError``, ``AuthenticationError``, ``UnexpectedError``,
``ApiError``, ``NetworkError``). The original's own ``RuntimeError`` shadowed the builtin and
lost its message; ferrolink's :class:`UsageError` *subclasses* the builtin instead.
"""

from __future__ import annotations

import builtins
from typing import Any, Optional

from .. import errors as _errors

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ExpError",
    "NetworkError",
    "RequestTimeout",
    "ResponderError",
    "UnexpectedError",
    "UsageError",
]


class ExpError(_errors.FerrolinkError):
    """Base of every EXP error."""


class AuthenticationError(ExpError, _errors.AuthenticationError):
    """EXP rejected the credentials (login 401), or a ready token that cannot be refreshed."""


class UnexpectedError(ExpError):
    """A transport failure, or a reply EXP should never send (non-JSON error, bad status)."""


class UsageError(ExpError, builtins.RuntimeError):
    """The SDK was used wrongly: bad start options, a call on a stopped instance..."""


class NetworkError(ExpError, builtins.ConnectionError):
    """The event bus could not do what was asked (e.g. a subscription was not confirmed)."""


class RequestTimeout(NetworkError, builtins.TimeoutError):
    """``request()`` got no response within its window (``Channel.Timeout``)."""


class ResponderError(ExpError):
    """The responder of a ``request()`` failed (``Channel.Error``); the message is its own."""


class ApiError(ExpError, _errors.ServiceError):
    """A non-2xx REST reply with a JSON body.

    Attributes: ``code``, ``message``, ``status_code`` and ``payload`` (the body).
    """

    def __init__(
        self,
        code: Optional[str] = None,
        message: Optional[str] = None,
        status_code: Optional[int] = None,
        payload: Any = None,
        *,
        host: Optional[str] = None,
    ) -> None:
        self.code = code or "unknown.error"
        self.message = message or "An unknown error has occurred."
        self.status_code = status_code
        self.payload = payload
        _errors.ServiceError.__init__(
            self, f"{self.code}: {self.message} (HTTP {status_code})", host=host, status=status_code
        )
