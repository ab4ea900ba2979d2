"""``Record``: one row of a response (every column that has a value at that index)."""

from __future__ import annotations

from typing import Optional

__all__ = ["Record"]


class Record:
    """A row as a dict ``{COLUMN: value}``."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, str]) -> None:
        self._data = data

    def getData(self) -> dict[str, str]:
        return self._data

    def getDataByKey(self, key: str) -> Optional[str]:
        return self._data.get(key)

    get_data = getData
    get_data_by_key = getDataByKey

    def __repr__(self) -> str:
        return f"Record({self._data!r})"
