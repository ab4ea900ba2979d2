"""``Column``: one ``PROPERTY[NAME]`` of a response, all its values in order."""

from __future__ import annotations

from typing import Optional

__all__ = ["Column"]


class Column:
    """The values of one property; ``length`` is their number."""

    __slots__ = ("_data", "_key", "length")

    def __init__(self, key: str, data: list[str]) -> None:
        self._key = key
        self._data = data
        self.length = len(data)

    def getKey(self) -> str:
        return self._key

    def getData(self) -> list[str]:
        return self._data

    def getDataByIndex(self, idx: int) -> Optional[str]:
        return self._data[idx] if self.hasDataIndex(idx) else None

    def hasDataIndex(self, idx: int) -> bool:
        return 0 <= idx < self.length

    # snake_case aliases
    get_key = getKey
    get_data = getData
    get_data_by_index = getDataByIndex
    has_data_index = hasDataIndex

    def __repr__(self) -> str:
        return f"Column({self._key!r}, {self.length} values)"
