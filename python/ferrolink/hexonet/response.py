"""``Response``: a parsed API response with columns, records and paging.

Columns and records are built on first use from the parsed hash (the Rust parser already
grouped the values per property), so constructing a Response costs one parse and nothing
more; the accessors give exactly the original's results, and the same objects on every call.

Paging numbers are computed in integers (``//``), so they stay exact for any number of
digits where the original's float division raised ``OverflowError``; a paging property that
is not an integer raises :class:`~ferrolink.hexonet.responsetemplate.InvalidNumberError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from .. import _core
from ..redact import MASK, is_secret_key
from .column import Column
from .record import Record
from .responsetemplate import RawResponse, ResponseTemplate, response_int

__all__ = ["Response"]

_PLACEHOLDER = re.compile(r"\{[A-Z_]+\}")
_NO_PROPERTIES: dict[str, list[str]] = {}
_parse_response = _core.hexonet_parse_response


# The columns as the original keeps them: the list of names and the list of Column objects
# (returned as themselves: callers rely on their identity), plus the first column of each
# name for look-ups.
_ColumnTable = tuple[list[str], list[Column], dict[str, Column]]


class Response(ResponseTemplate):
    """``Response(raw, cmd=None, cfg=None)``.

    As in the original, ``{KEY}`` placeholders in ``raw`` are filled from ``cfg`` (the rest
    deleted) and ``cmd["PASSWORD"]`` is replaced by ``***`` in the given dict; so is every
    other secret key (:func:`ferrolink.redact.is_secret_key`: ``NEWPASSWORD``, ``AUTH``...).
    Responses returned by ``APIClient.request()`` apply placeholders only to the responses the
    client synthesizes, never to real API data.
    """

    # Class-level defaults: most responses never set these, so construction skips them.
    _command: Optional[dict[str, Any]] = None
    _real_command: Optional[dict[str, Any]] = None
    _columns: Optional[_ColumnTable] = None
    _records: Optional[list[Record]] = None
    _record_index: int = 0
    _error: Optional[str] = None
    _http_status: Optional[int] = None

    def __init__(
        self,
        raw: RawResponse,
        cmd: Optional[dict[str, Any]] = None,
        cfg: Optional[Mapping[str, str]] = None,
    ) -> None:
        if cmd is None and self._init_reply(raw):
            return
        self._setup(raw, cmd, cfg or {}, substitute=True)

    def _init_reply(self, raw: RawResponse) -> bool:
        """The common case in one call: UTF-8 bytes without placeholders. False (nothing
        set) for any other input."""
        result = _parse_response(raw) if type(raw) is bytes else None
        if result is None:
            return False
        self._body = raw  # type: ignore[assignment]  # bytes: checked above
        self._hash, self._pending_row = result
        return True

    def _setup(
        self,
        raw: RawResponse,
        cmd: Optional[dict[str, Any]],
        cfg: Mapping[str, str],
        substitute: bool,
    ) -> None:
        self._init_template(raw)
        if substitute and self._may_have_placeholder() and _PLACEHOLDER.search(self._raw):
            text = self._raw
            for key, value in cfg.items():
                text = text.replace("{" + key + "}", value)
            self._init_template(_PLACEHOLDER.sub("", text))
        if cmd is not None:
            self._set_command(cmd)

    def _set_command(self, cmd: dict[str, Any]) -> None:
        self._command = self._real_command = cmd
        secret = [key for key in cmd if is_secret_key(str(key))]
        if secret:
            # The caller's dict shows the mask; the client keeps the real values for paging.
            self._real_command = dict(cmd)
            for key in secret:
                cmd[key] = MASK

    @classmethod
    def _from_api(
        cls,
        raw: RawResponse,
        cmd: Optional[dict[str, Any]],
        cfg: Mapping[str, str],
        *,
        synthesized: bool,
        error: Optional[str] = None,
        http_status: Optional[int] = None,
    ) -> Response:
        """What ``APIClient.request()`` returns: placeholders only in synthesized responses."""
        response = cls.__new__(cls)
        if not synthesized and response._init_reply(raw):
            if cmd is not None:
                response._set_command(cmd)
        else:
            response._setup(raw, cmd, cfg, substitute=synthesized)
        if error is not None:  # the class default is None: most replies skip the store
            response._error = error
        response._http_status = http_status
        return response

    # -- ferrolink additions -------------------------------------------------------------

    def getError(self) -> Optional[str]:
        """Why the request failed at the transport level (the cause of a synthesized 421)."""
        return self._error

    def getHTTPStatus(self) -> Optional[int]:
        """The HTTP status of the reply (``None`` when no reply was received)."""
        return self._http_status

    # -- columns -------------------------------------------------------------------------

    def _properties(self) -> dict[str, list[str]]:
        properties: Optional[dict[str, list[str]]] = self._full_hash().get("PROPERTY")
        return properties if properties is not None else _NO_PROPERTIES

    def _column_table(self) -> _ColumnTable:
        table = self._columns
        if table is None:
            properties = self._properties()
            keys = list(properties)
            columns = list(map(Column, keys, properties.values()))
            table = self._columns = (keys, columns, dict(zip(keys, columns)))
        return table

    def addColumn(self, key: str, data: list[str]) -> Response:
        keys, columns, by_name = self._column_table()
        column = Column(key, data)
        keys.append(key)
        columns.append(column)
        by_name.setdefault(key, column)  # a repeated name still finds the first, as before
        return self

    def addRecord(self, h: dict[str, str]) -> Response:
        self._record_list().append(Record(h))
        return self

    def getColumn(self, key: str) -> Optional[Column]:
        return self._column_table()[2].get(key)

    def getColumnIndex(self, colkey: str, index: int) -> Optional[str]:
        column = self.getColumn(colkey)
        return column.getDataByIndex(index) if column is not None else None

    def getColumnKeys(self) -> list[str]:
        """The column names: the same list object on every call, as in the original."""
        return self._column_table()[0]

    def getColumns(self) -> list[Column]:
        """The columns: the same list object on every call, as in the original."""
        return self._column_table()[1]

    # -- command -------------------------------------------------------------------------

    def getCommand(self) -> Optional[dict[str, Any]]:
        """The flattened command sent, every secret (``PASSWORD``, ``NEWPASSWORD``, ``AUTH``...)
        shown as ``***``."""
        return self._command

    def getCommandPlain(self) -> str:
        """``KEY = VALUE`` lines of :meth:`getCommand` (secrets shown as ``***``)."""
        if self._command is None:
            return ""
        return "".join(f"{key} = {value}\n" for key, value in self._command.items())

    # -- records -------------------------------------------------------------------------

    def _row_list(self) -> list[dict[str, str]]:
        """The records' data dicts; ``getListHash`` needs only these, not Record objects."""
        if self._records is not None:  # they may have been added to
            return [record.getData() for record in self._records]
        rows = self._rows
        if rows is None:
            row = self._pending_row
            if row is not None:
                # The row goes out to callers: the table still to build keeps its own copy.
                self._pending_row = row.copy()
                rows = self._rows = [row]
            else:
                properties = self._hash.get("PROPERTY")
                rows = self._rows = _core.hexonet_rows(properties) if properties else []
        return rows

    def _record_list(self) -> list[Record]:
        records = self._records
        if records is None:
            rows = self._rows
            if rows is None:
                row = self._pending_row
                if row is not None:  # as in _row_list, one call less for status responses
                    self._pending_row = row.copy()
                    self._rows = [row]
                    records = self._records = [Record(row)]
                    return records
                rows = self._row_list()
            records = self._records = _core.hexonet_records(rows)
        return records

    getRecords = _record_list

    def getRecord(self, idx: int) -> Optional[Record]:
        records = self._record_list()
        return records[idx] if 0 <= idx < len(records) else None

    def getRecordsCount(self) -> int:
        if self._records is not None:
            return len(self._records)
        return max(map(len, self._properties().values()), default=0)

    def _has_current_record(self) -> bool:
        return 0 <= self._record_index < self.getRecordsCount()

    def getCurrentRecord(self) -> Optional[Record]:
        return self._record_list()[self._record_index] if self._has_current_record() else None

    def getNextRecord(self) -> Optional[Record]:
        if self._has_current_record() and self._record_index + 1 < self.getRecordsCount():
            self._record_index += 1
            return self._record_list()[self._record_index]
        return None

    def getPreviousRecord(self) -> Optional[Record]:
        if self._record_index > 0 and self._has_current_record():
            self._record_index -= 1
            return self._record_list()[self._record_index]
        return None

    def rewindRecordList(self) -> Response:
        self._record_index = 0
        return self

    # -- paging --------------------------------------------------------------------------

    def _paging_value(self, key: str) -> Optional[int]:
        table = self._columns
        if table is None:  # read the table: no Column objects just for this
            data = self._properties().get(key)
            value = data[0] if data else None
        else:
            column = table[2].get(key)
            value = column.getDataByIndex(0) if column is not None else None
        return response_int(key, value) if value is not None else None

    def getRecordsTotalCount(self) -> int:
        total = self._paging_value("TOTAL")
        return self.getRecordsCount() if total is None else total

    def getRecordsLimitation(self) -> int:
        limit = self._paging_value("LIMIT")
        return self.getRecordsCount() if limit is None else limit

    def getFirstRecordIndex(self) -> Optional[int]:
        first = self._paging_value("FIRST")
        if first is not None:
            return first
        return 0 if self.getRecordsCount() else None

    def getLastRecordIndex(self) -> Optional[int]:
        last = self._paging_value("LAST")
        if last is not None:
            return last
        count = self.getRecordsCount()
        return count - 1 if count else None

    def getCurrentPageNumber(self) -> Optional[int]:
        first = self.getFirstRecordIndex()
        limit = self.getRecordsLimitation()
        if first is not None and limit:
            return first // limit + 1
        return None

    def getNumberOfPages(self) -> int:
        total = self.getRecordsTotalCount()
        limit = self.getRecordsLimitation()
        if total and limit:
            return -(-total // limit)
        return 0

    def getNextPageNumber(self) -> Optional[int]:
        current = self.getCurrentPageNumber()
        if current is None:
            return None
        return min(current + 1, self.getNumberOfPages())

    def getPreviousPageNumber(self) -> Optional[int]:
        current = self.getCurrentPageNumber()
        if current is not None and current - 1:
            return current - 1
        return None

    def hasNextPage(self) -> bool:
        current = self.getCurrentPageNumber()
        return current is not None and current + 1 <= self.getNumberOfPages()

    def hasPreviousPage(self) -> bool:
        current = self.getCurrentPageNumber()
        return current is not None and current - 1 > 0

    def getPagination(self) -> dict[str, Optional[int]]:
        # The accessors' results, each paging value read once (in the accessors' order).
        count = self.getRecordsCount()
        first = self._paging_value("FIRST")
        if first is None:
            first = 0 if count else None
        limit = self._paging_value("LIMIT")
        if limit is None:
            limit = count
        last = self._paging_value("LAST")
        if last is None:
            last = count - 1 if count else None
        total = self._paging_value("TOTAL")
        if total is None:
            total = count
        current = first // limit + 1 if first is not None and limit else None
        pages = -(-total // limit) if total and limit else 0
        return {
            "COUNT": count,
            "CURRENTPAGE": current,
            "FIRST": first,
            "LAST": last,
            "LIMIT": limit,
            "NEXTPAGE": None if current is None else min(current + 1, pages),
            "PAGES": pages,
            "PREVIOUSPAGE": current - 1 if current is not None and current - 1 else None,
            "TOTAL": total,
        }

    def getListHash(self) -> dict[str, Any]:
        return {
            "LIST": list(self._row_list()),
            "meta": {"columns": self.getColumnKeys(), "pg": self.getPagination()},
        }

    # snake_case aliases
    get_error = getError
    get_http_status = getHTTPStatus
    add_column = addColumn
    add_record = addRecord
    get_column = getColumn
    get_column_index = getColumnIndex
    get_column_keys = getColumnKeys
    get_columns = getColumns
    get_command = getCommand
    get_command_plain = getCommandPlain
    get_records = getRecords
    get_record = getRecord
    get_records_count = getRecordsCount
    get_current_record = getCurrentRecord
    get_next_record = getNextRecord
    get_previous_record = getPreviousRecord
    rewind_record_list = rewindRecordList
    get_records_total_count = getRecordsTotalCount
    get_records_limitation = getRecordsLimitation
    get_first_record_index = getFirstRecordIndex
    get_last_record_index = getLastRecordIndex
    get_current_page_number = getCurrentPageNumber
    get_number_of_pages = getNumberOfPages
    get_next_page_number = getNextPageNumber
    get_previous_page_number = getPreviousPageNumber
    has_next_page = hasNextPage
    has_previous_page = hasPreviousPage
    get_pagination = getPagination
    get_list_hash = getListHash
