"""``ClosesOnExit``: the ``with`` protocol for objects that own resources and have ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import Optional, TypeVar

__all__ = ["AsyncClosesOnExit", "ClosesOnExit"]

_T = TypeVar("_T", bound="ClosesOnExit")


class ClosesOnExit:
    """``with obj:`` gives ``obj`` and calls ``obj.close()`` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


_A = TypeVar("_A", bound="AsyncClosesOnExit")


class AsyncClosesOnExit:
    """``async with obj:`` gives ``obj`` and awaits ``obj.aclose()`` on the way out.

    ``aclose()`` defaults to the synchronous ``close()``; a client whose shutdown talks to the
    server (a logout) overrides it.
    """

    def close(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()
