"""MyQttHub errors: every failure carries the HTTP status, reason and the server's raw body."""

from __future__ import annotations

from typing import Optional

from .. import errors as _errors

__all__ = ["AuthenticationError", "MyQttHubError", "PublishError"]


class MyQttHubError(_errors.ServiceError):
    """The service answered with an error: ``status``, ``reason`` and raw ``body`` (text)."""

    def __init__(
        self,
        message: str,
        *,
        host: Optional[str] = None,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        body: Optional[str] = None,
    ) -> None:
        super().__init__(message, host=host, status=status)
        self.reason = reason
        self.body = body


class AuthenticationError(_errors.AuthenticationError, MyQttHubError):
    """Login failed ("Service denied ...") or the token was rejected even after logging in
    again. ``server_message`` is the server's own text."""

    def __init__(
        self,
        message: str,
        *,
        host: Optional[str] = None,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        body: Optional[str] = None,
    ) -> None:
        MyQttHubError.__init__(self, message, host=host, status=status, reason=reason, body=body)
        self.server_message = body


class PublishError(MyQttHubError):
    """A message of :meth:`Client.publish_many` failed; ``published`` were sent before it."""

    def __init__(self, message: str, *, published: int, cause: MyQttHubError) -> None:
        super().__init__(
            message, host=cause.host, status=cause.status, reason=cause.reason, body=cause.body
        )
        self.published = published
