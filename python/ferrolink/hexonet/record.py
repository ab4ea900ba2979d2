"""``Record``: one row of a response (every column that has a value at that index).

``Record(data)`` wraps the row dict ``{COLUMN: value}``: ``getData()`` returns that dict
itself, ``getDataByKey(key)`` one value or ``None`` (snake_case aliases ``get_data``,
``get_data_by_key``). The class is native, so that a list page's records are made in one call.
"""

from __future__ import annotations

from .. import _core

__all__ = ["Record"]

Record = _core.Record
