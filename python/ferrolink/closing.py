"""``ClosesOnExit``: the ``with`` protocol for objects that own resources and have ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import Optional, TypeVar

__all__ = ["ClosesOnExit"]

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
