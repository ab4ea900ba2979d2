"""HEXONET Response: columns, records, cursor, pagination maths, placeholders, masking."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from ferrolink.hexonet import InvalidNumberError, responseparser
from ferrolink.hexonet.response import Response


def page(count: int, first: int, last: int, limit: int, total: int, domains: list[str]) -> str:
    lines = ["[RESPONSE]", "CODE = 200", "DESCRIPTION = Command completed successfully"]
    lines.append(f"PROPERTY[COUNT][0] = {count}")
    lines += [f"PROPERTY[DOMAIN][{i}] = {d}" for i, d in enumerate(domains)]
    lines += [
        f"PROPERTY[FIRST][0] = {first}",
        f"PROPERTY[LAST][0] = {last}",
        f"PROPERTY[LIMIT][0] = {limit}",
        f"PROPERTY[TOTAL][0] = {total}",
        "QUEUETIME = 0",
        "RUNTIME = 0.011",
        "EOF",
    ]
    return "\n".join(lines) + "\n"


def test_spec_list_page() -> None:
    r = Response(page(2, 2, 3, 2, 5, ["alpha-example.com", "beta-example.net"]))
    assert r.getColumnKeys() == ["COUNT", "DOMAIN", "FIRST", "LAST", "LIMIT", "TOTAL"]
    assert r.getRecordsCount() == 2
    first = r.getRecord(0)
    assert first is not None
    assert first.getData() == {
        "COUNT": "2",
        "DOMAIN": "alpha-example.com",
        "FIRST": "2",
        "LAST": "3",
        "LIMIT": "2",
        "TOTAL": "5",
    }
    assert r.getRecords()[1].getData() == {"DOMAIN": "beta-example.net"}
    assert r.getPagination() == {
        "COUNT": 2,
        "CURRENTPAGE": 2,
        "FIRST": 2,
        "LAST": 3,
        "LIMIT": 2,
        "NEXTPAGE": 3,
        "PAGES": 3,
        "PREVIOUSPAGE": 1,
        "TOTAL": 5,
    }
    assert r.hasNextPage() and r.hasPreviousPage()


def test_last_partial_page() -> None:
    r = Response(page(1, 4, 4, 2, 5, ["e.com"]))
    pg = r.getPagination()
    assert (pg["CURRENTPAGE"], pg["PAGES"], pg["NEXTPAGE"], pg["PREVIOUSPAGE"]) == (3, 3, 3, 2)
    assert not r.hasNextPage() and r.hasPreviousPage()


def test_first_full_page() -> None:
    r = Response(page(3, 0, 2, 3, 9, ["a.com", "b.com", "c.com"]))
    pg = r.getPagination()
    assert (pg["CURRENTPAGE"], pg["PAGES"], pg["NEXTPAGE"], pg["PREVIOUSPAGE"]) == (1, 3, 2, None)
    assert r.hasNextPage() and not r.hasPreviousPage()


def test_empty_list_page() -> None:
    r = Response(page(0, 0, -1, 100, 0, []))
    assert r.getRecordsCount() == 1
    record = r.getRecord(0)
    assert record is not None
    assert set(record.getData()) == {"COUNT", "FIRST", "LAST", "LIMIT", "TOTAL"}
    pg = r.getPagination()
    assert (pg["CURRENTPAGE"], pg["PAGES"], pg["NEXTPAGE"], pg["PREVIOUSPAGE"]) == (1, 0, 0, None)
    assert (pg["FIRST"], pg["LAST"], pg["LIMIT"], pg["TOTAL"]) == (0, -1, 100, 0)


def test_response_without_properties() -> None:
    r = Response("[RESPONSE]\nCODE=200\nDESCRIPTION=ok\nEOF")
    assert r.getRecords() == [] and r.getRecordsCount() == 0
    assert r.getCurrentRecord() is None
    assert r.getPagination() == {
        "COUNT": 0,
        "CURRENTPAGE": None,
        "FIRST": None,
        "LAST": None,
        "LIMIT": 0,
        "NEXTPAGE": None,
        "PAGES": 0,
        "PREVIOUSPAGE": None,
        "TOTAL": 0,
    }
    assert not r.hasNextPage() and not r.hasPreviousPage()
    assert r.getListHash() == {"LIST": [], "meta": {"columns": [], "pg": r.getPagination()}}


def test_ragged_columns_and_column_access() -> None:
    r = Response("CODE=200\nDESCRIPTION=ok\nPROPERTY[A][0]=1\nPROPERTY[A][1]=2\nPROPERTY[B][0]=x")
    assert [rec.getData() for rec in r.getRecords()] == [{"A": "1", "B": "x"}, {"A": "2"}]
    column = r.getColumn("A")
    assert column is not None
    assert (column.getKey(), column.getData(), column.length) == ("A", ["1", "2"], 2)
    assert (column.getDataByIndex(1), column.getDataByIndex(2), column.getDataByIndex(-1)) == (
        "2",
        None,
        None,
    )
    assert column.hasDataIndex(0) and not column.hasDataIndex(2)
    assert r.getColumn("NOPE") is None
    assert r.getColumnIndex("B", 0) == "x" and r.getColumnIndex("B", 1) is None
    assert r.getColumnIndex("NOPE", 0) is None
    assert [c.getKey() for c in r.getColumns()] == ["A", "B"]
    assert r.getRecord(2) is None and r.getRecord(-1) is None
    record = r.getRecord(1)
    assert record is not None and record.getDataByKey("B") is None


def test_record_cursor() -> None:
    r = Response(
        "CODE=200\nDESCRIPTION=ok\n" + "".join(f"PROPERTY[D][{i}]=d{i}\n" for i in range(3))
    )

    def data(rec: Any) -> Optional[str]:
        return None if rec is None else rec.getDataByKey("D")

    assert data(r.getCurrentRecord()) == "d0"
    assert data(r.getPreviousRecord()) is None
    assert data(r.getNextRecord()) == "d1"
    assert data(r.getNextRecord()) == "d2"
    assert data(r.getNextRecord()) is None
    assert data(r.getCurrentRecord()) == "d2"
    assert data(r.getPreviousRecord()) == "d1"
    assert data(r.rewindRecordList().getCurrentRecord()) == "d0"


def test_add_column_and_record() -> None:
    r = Response("CODE=200\nDESCRIPTION=ok")
    r.addColumn("X", ["1"]).addRecord({"X": "1"})
    assert r.getColumnKeys() == ["X"] and r.getRecordsCount() == 1


def test_placeholders_and_password_masking() -> None:
    cmd = {"COMMAND": "CheckAuthentication", "PASSWORD": "secret", "NEWPASSWORD": "n"}
    r = Response("", cmd, {"CONNECTION_URL": "https://x/api"})
    assert (
        r.getDescription() == "Empty API response. Probably unreachable API end point https://x/api"
    )
    assert cmd["PASSWORD"] == "***"  # the caller's dict, as in the original
    assert r.getCommand() is cmd
    plain = r.getCommandPlain()
    assert "PASSWORD = ***\n" in plain and "secret" not in plain and "NEWPASSWORD = ***" in plain
    # The public constructor keeps the original substitution (unknown placeholders deleted).
    assert Response("CODE=200\nDESCRIPTION=ok {FOO} bar").getDescription() == "ok  bar"


def test_hash_is_live() -> None:
    r = Response("CODE=200\nDESCRIPTION=ok")
    r.getHash()["CODE"] = "541"
    assert r.getCode() == 541 and r.isError()


@pytest.mark.parametrize("limit", ["0", "x"])
def test_bad_paging_values(limit: str) -> None:
    r = Response(f"CODE=200\nDESCRIPTION=ok\nPROPERTY[LIMIT][0]={limit}\nPROPERTY[TOTAL][0]=5")
    if limit == "0":
        assert r.getCurrentPageNumber() is None and r.getNumberOfPages() == 0
    else:
        with pytest.raises(ValueError):
            r.getPagination()


def test_snake_case_aliases() -> None:
    r = Response(page(2, 2, 3, 2, 5, ["a.com", "b.com"]))
    assert r.get_pagination() == r.getPagination()
    assert r.get_list_hash() == r.getListHash()
    assert r.get_code() == 200 and r.is_success()


ONE_RECORD = (
    b"[RESPONSE]\r\nCODE = 200\r\nDESCRIPTION = ok\r\nPROPERTY[AMOUNT][0] = 1000.00\r\n"
    b"PROPERTY[currency][0] = USD\r\nQUEUETIME = 0\r\nRUNTIME = 0.004\r\nEOF\r\n"
)


def _view(r: Response) -> Any:
    h = r.getHash()
    return (
        list(h.items()),
        [(k, list(v)) for k, v in h["PROPERTY"].items()],
        [list(rec.getData().items()) for rec in r.getRecords()],
        r.getListHash(),
        [(c.getKey(), c.getData()) for c in r.getColumns()],
        r.getRecordsCount(),
    )


@pytest.mark.parametrize("records_first", [False, True])
def test_one_record_body_same_as_text(records_first: bool) -> None:
    """A one-record body builds its PROPERTY table late: same hash, order and records."""
    expected = _view(Response(ONE_RECORD.decode()))
    r = Response(ONE_RECORD)
    if records_first:
        assert r.getRecords()[0].getDataByKey("AMOUNT") == "1000.00"
    assert _view(r) == expected
    # The original's order: PROPERTY where the first property line was.
    assert list(r.getHash()) == ["CODE", "DESCRIPTION", "PROPERTY", "QUEUETIME", "RUNTIME"]


def test_one_record_body_record_and_hash_independent() -> None:
    r = Response(ONE_RECORD)
    r.getRecords()[0].getData()["AMOUNT"] = "changed"
    assert r.getHash()["PROPERTY"]["AMOUNT"] == ["1000.00"]
    r2 = Response(ONE_RECORD)
    r2.getHash()["PROPERTY"]["AMOUNT"][0] = "changed"
    assert r2.getRecords()[0].getDataByKey("AMOUNT") == "1000.00"
    assert Response(ONE_RECORD).getColumnIndex("CURRENCY", 0) == "USD"


@pytest.mark.parametrize("rows", [0, 1, 3])
@pytest.mark.parametrize(
    "paging",
    [
        {},
        {"FIRST": "0"},
        {"LIMIT": "0", "TOTAL": "7"},
        {"FIRST": "4", "LIMIT": "2", "LAST": "5", "TOTAL": "9"},
        {"FIRST": "-3", "LIMIT": "-2", "TOTAL": "-1"},
    ],
)
def test_pagination_is_the_accessors(rows: int, paging: dict[str, str]) -> None:
    lines = ["CODE=200", "DESCRIPTION=ok"] + [f"PROPERTY[DOMAIN][{i}]=d{i}" for i in range(rows)]
    lines += [f"PROPERTY[{key}][0]={value}" for key, value in paging.items()]
    r = Response("\n".join(lines))
    assert r.getPagination() == {
        "COUNT": r.getRecordsCount(),
        "CURRENTPAGE": r.getCurrentPageNumber(),
        "FIRST": r.getFirstRecordIndex(),
        "LAST": r.getLastRecordIndex(),
        "LIMIT": r.getRecordsLimitation(),
        "NEXTPAGE": r.getNextPageNumber(),
        "PAGES": r.getNumberOfPages(),
        "PREVIOUSPAGE": r.getPreviousPageNumber(),
        "TOTAL": r.getRecordsTotalCount(),
    }


@pytest.mark.parametrize("raw", ["CODE=\nDESCRIPTION=x", b"CODE =  \r\nDESCRIPTION=x\r\n"])
def test_empty_code_is_an_error_response(raw: Any) -> None:
    r = Response(raw)
    assert (r.isError(), r.isSuccess(), r.isTmpError()) == (True, False, False)
    with pytest.raises(InvalidNumberError, match="CODE is not an integer"):
        r.getCode()


def test_paging_values_of_any_length_stay_exact() -> None:
    huge = "9" * 400
    r = Response(f"CODE=200\nDESCRIPTION=ok\nPROPERTY[FIRST][0]={huge}\nPROPERTY[TOTAL][0]={huge}")
    r.addColumn("LIMIT", ["1"])
    pages = r.getPagination()
    assert pages["CURRENTPAGE"] == int(huge) + 1 and pages["PAGES"] == int(huge)
    assert pages["NEXTPAGE"] == int(huge) and r.getNumberOfPages() == int(huge)
    listed = Response(
        f"CODE=200\nDESCRIPTION=ok\nPROPERTY[FIRST][0]={huge}\nPROPERTY[LIMIT][0]=1\n"
        f"PROPERTY[TOTAL][0]={huge}0"
    ).getListHash()
    assert listed["meta"]["pg"]["CURRENTPAGE"] == int(huge) + 1
    # Small values: the same results as float division gave.
    r = Response(page(2, 7, 8, 3, 10, ["a", "b"]))
    assert (r.getCurrentPageNumber(), r.getNumberOfPages()) == (3, 4)


@pytest.mark.parametrize("value", ["abc", "9" * 5000])
def test_paging_value_that_is_no_integer_is_a_typed_error(value: str) -> None:
    r = Response(f"CODE=200\nDESCRIPTION=ok\nPROPERTY[TOTAL][0]={value}")
    with pytest.raises(InvalidNumberError, match="TOTAL is not an integer"):
        r.getPagination()


def test_every_secret_of_the_command_is_masked() -> None:
    cmd = {
        "COMMAND": "TransferDomain",
        "DOMAIN": "example.com",
        "AUTH": "epp-c0de",
        "NEWPASSWORD": "n3w",
        "PASSWORD": "0ld",
    }
    r = Response("CODE=200\nDESCRIPTION=ok", cmd)
    assert r.getCommand() == {
        "COMMAND": "TransferDomain",
        "DOMAIN": "example.com",
        "AUTH": "***",
        "NEWPASSWORD": "***",
        "PASSWORD": "***",
    }
    plain = r.getCommandPlain()
    assert (
        not any(s in plain for s in ("epp-c0de", "n3w", "0ld")) and "DOMAIN = example.com" in plain
    )


def test_mask_secrets_of_a_start_session_reply() -> None:
    raw = (
        "[RESPONSE]\r\nCODE = 200\r\nDESCRIPTION = Command completed successfully\r\n"
        "PROPERTY[SESSION][0] = 4f2a-live-session\r\nproperty[ expires ][0] = 2026\r\nEOF\r\n"
    )
    masked = responseparser.mask_secrets(raw)
    assert "4f2a-live-session" not in masked and "PROPERTY[SESSION][0] = ***\r\n" in masked
    assert masked.replace("***", "4f2a-live-session") == raw


def test_records_copy_and_pickle() -> None:
    import copy
    import pickle

    r = Response(page(2, 0, 1, 2, 2, ["a.com", "b.com"]))
    record = r.getRecords()[1]
    for clone in (copy.deepcopy(record), pickle.loads(pickle.dumps(record))):
        assert clone.getData() == record.getData() and clone.getData() is not record.getData()
    assert copy.copy(record).getData() is record.getData()
    assert repr(record) == "Record({'DOMAIN': 'b.com'})"
