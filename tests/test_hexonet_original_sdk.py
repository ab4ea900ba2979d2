"""The original SDK (``hexonet.apiconnector==4.0.2``, installed with ``--no-deps``) talks to
the sandbox unchanged, and ferrolink parses and encodes exactly as it does.

TLS: the original calls ``urlopen`` without an SSL context, so Python builds a default
context per request, which honours ``SSL_CERT_FILE``: pointing that at the sandbox CA is
enough. The plain-HTTP port (as in the high-performance proxy setup) is tested too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ferrolink.sandbox
from ferrolink.hexonet import responseparser
from ferrolink.hexonet.apiclient import APIClient as FerroClient
from ferrolink.hexonet.response import Response as FerroResponse

original = pytest.importorskip(
    "hexonet.apiconnector.apiclient", reason="pip install --no-deps hexonet.apiconnector==4.0.2"
)
from hexonet.apiconnector import responseparser as original_parser  # noqa: E402
from hexonet.apiconnector.response import Response as OriginalResponse  # noqa: E402


@pytest.fixture(scope="module")
def sb() -> Iterator[ferrolink.sandbox.Sandbox]:
    with ferrolink.sandbox.start(
        ["hexonet"], options={"hexonet": {"portfolio_size": 300}}
    ) as running:
        yield running


def original_flow(url: str) -> list[Any]:
    cl = original.APIClient()
    cl.setURL(url)
    cl.setCredentials("test.user", "test.passw0rd")
    seen: list[Any] = []
    r = cl.request({"COMMAND": "StatusAccount"})
    seen.append((r.getCode(), r.getListHash()["LIST"]))
    login = cl.login()
    seen.append((login.getCode(), bool(cl.getSession())))
    # IDN: the original converts through ConvertIDN on the server (2 requests).
    r = cl.request({"COMMAND": "CheckDomains", "DOMAIN": ["dömäin.example", "free-name.com"]})
    seen.append([rec.getDataByKey("DOMAINCHECK") for rec in r.getRecords()])
    pages = cl.requestAllResponsePages({"COMMAND": "QueryDomainList", "LIMIT": 100})
    seen.append([p.getRecordsCount() for p in pages])
    seen.append(cl.logout().getCode())
    return seen


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_original_sdk_against_sandbox(
    sb: ferrolink.sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", sb.ca_file)
    service = sb.service("hexonet")
    service.reset()  # type: ignore[attr-defined]
    seen = original_flow(sb.url("hexonet", scheme) + "/api/call.cgi")
    assert seen[0][0] == 200 and seen[0][1][0]["CURRENCY"] == "USD"
    assert seen[1] == (200, True)
    assert seen[2] == ["210 Domain name available", "210 Domain name available"]
    assert seen[3] == [100, 100, 100]
    assert seen[4] == 200
    commands = [r["command"].get("COMMAND") for r in service.requests]  # type: ignore[attr-defined]
    assert "ConvertIDN" in commands


def test_same_bodies_as_the_original(
    sb: ferrolink.sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", sb.ca_file)
    url = sb.url("hexonet", "https") + "/api/call.cgi"
    service = sb.service("hexonet")
    commands: list[dict[str, Any]] = [
        {"COMMAND": "StatusAccount"},
        {"command": "QueryDomainList", "limit": 5, "first": 0, "wide": 1, "orderby": None},
        {"COMMAND": "CheckDomains", "DOMAIN": ["a.com", "b.net"], "X": "v/s+r !*'()&=ä\r\n"},
        {
            "COMMAND": "AddContact",
            "FIRSTNAME": "A",
            "LASTNAME": "B",
            "EMAIL": "a@b.de",
            "COUNTRY": "DE",
        },
    ]
    bodies = {}
    for name, factory in (
        ("original", original.APIClient),
        ("ferrolink", lambda: FerroClient(ca_file=sb.ca_file)),
    ):
        cl = factory()
        cl.setURL(url)
        cl.setCredentials("test.user", "test.passw0rd")
        cl.setRemoteIPAddress("10.0.0.1")
        cl.setUserAgent("WHMCS", "7.7.0", ["reg/2.6.2"])
        service.reset()  # type: ignore[attr-defined]
        plain = []
        for cmd in commands:
            r = cl.request(dict(cmd))
            plain.append((r.getCode(), r.getListHash()))
        sent = [
            (r["body"], {k.lower(): v for k, v in r["headers"].items()}["user-agent"])
            for r in service.requests
        ]  # type: ignore[attr-defined]
        bodies[name] = (sent, [(c, h["LIST"], h["meta"]["columns"]) for c, h in plain])
    assert bodies["ferrolink"][0] == bodies["original"][0]
    assert bodies["ferrolink"][1][:2] == bodies["original"][1][:2]


RESPONSES = [
    "[RESPONSE]\r\nCODE = 200\r\nDESCRIPTION = ok\r\nPROPERTY[COUNT][0] = 2\r\n"
    "PROPERTY[DOMAIN][0] = a\r\nPROPERTY[DOMAIN][1] = b\r\nPROPERTY[FIRST][0] = 2\r\n"
    "PROPERTY[LAST][0] = 3\r\nPROPERTY[LIMIT][0] = 2\r\n"
    "PROPERTY[TOTAL][0] = 5\r\nEOF\r\n",
    "CODE=200\nDESCRIPTION=ok\nPROPERTY[COUNT][0]=0\nPROPERTY[FIRST][0]=0\nPROPERTY[LAST][0]=-1\n"
    "PROPERTY[LIMIT][0]=100\nPROPERTY[TOTAL][0]=0",
    "CODE=200\nDESCRIPTION=ok",
    "CODE=200\nDESCRIPTION=ok\nPROPERTY[A][0]=1\nPROPERTY[A][1]=2\nPROPERTY[B][0]=x",
    "",
    "garbage",
    "[RESPONSE]\nEOF",
]


@pytest.mark.parametrize("raw", RESPONSES)
def test_accessors_match_the_original(raw: str) -> None:
    ours, theirs = (
        FerroResponse(raw, {"COMMAND": "X", "PASSWORD": "p"}),
        OriginalResponse(raw, {"COMMAND": "X", "PASSWORD": "p"}),
    )
    for method in (
        "getCode",
        "getDescription",
        "getPlain",
        "getHash",
        "getColumnKeys",
        "getRecordsCount",
        "getPagination",
        "getListHash",
        "getCommandPlain",
        "isSuccess",
        "hasNextPage",
        "hasPreviousPage",
        "getCommand",
    ):
        assert getattr(ours, method)() == getattr(theirs, method)(), method


KEYISH = st.text(alphabet="PROPERTYprtycodeCODE[]=_ \t\r\n\u00e4\u00df0123456789", max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(KEYISH, st.text(max_size=120)))
def test_parse_matches_the_original(text: str) -> None:
    try:
        expected = original_parser.parse(text)
    except TypeError:
        return  # the original crashes on a top-level PROPERTY key before property lines
    if isinstance(expected.get("PROPERTY"), str):
        return  # ...or stores it as a string: the documented deviation
    parsed = responseparser.parse(text)
    assert parsed == expected
    assert list(parsed) == list(expected)  # key order too (json.dumps, iteration)


LINE = st.one_of(
    st.builds(
        "PROPERTY[{}][{}]{}={}{}".format,
        st.sampled_from(["DOMAIN", "domain", "STATUS", "A B", "\u00e4"]),
        st.integers(0, 99),
        st.sampled_from(["", " ", "\t "]),
        st.sampled_from(["", " ", "  \t"]),
        st.text(alphabet="ab.-= \t\r\u00e4", max_size=12),
    ),
    st.sampled_from(["PROPERTY[DOMAIN][3]", "PROPERTY[DOMAIN]x", "CODE = 200", "DESCRIPTION=ok"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=30), st.sampled_from(["\r\n", "\n"]))
def test_long_list_pages_parse_as_the_original(lines: list[str], eol: str) -> None:
    """Texts long enough for the parser's long-text paths (values cut from one str, runs of
    one column's lines), ASCII or not."""
    text = eol.join(lines * (5000 // len(eol.join(lines)) + 1))
    expected = original_parser.parse(text)
    parsed = responseparser.parse(text)
    assert parsed == expected
    assert list(parsed) == list(expected)
    if "CODE" in expected and "DESCRIPTION" in expected:
        from_bytes = FerroResponse(text.encode()).getHash()
        assert from_bytes == expected
        assert list(from_bytes) == list(expected)


@pytest.mark.parametrize("odd_line", [0, 700, 1500, 2999])
def test_long_body_with_one_non_ascii_line_parses_as_the_original(odd_line: int) -> None:
    """A body of several 32 KB pieces (long ASCII bodies have their values cut from a str per
    piece) with one non-ASCII value in one of them: every value as the original reads it."""
    lines = ["[RESPONSE]", "CODE = 200", "DESCRIPTION = ok"]
    lines += [f"PROPERTY[DOMAIN][{i}] = domain-{i:05d}.example   " for i in range(3000)]
    lines[3 + odd_line] = f"PROPERTY[DOMAIN][{odd_line}] = dömäin-\u20ac.example"
    text = "\r\n".join([*lines, "RUNTIME = 0.1", "EOF", ""])
    assert len(text) > 4 * 32 * 1024
    expected = original_parser.parse(text)
    assert FerroResponse(text.encode()).getHash() == expected
    assert FerroResponse(text).getHash() == expected


ACCESSORS = [
    ("getCode",),
    ("getDescription",),
    ("getPlain",),
    ("getQueuetime",),
    ("getRuntime",),
    ("isSuccess",),
    ("isTmpError",),
    ("isError",),
    ("isPending",),
    ("getHash",),
    ("getColumnKeys",),
    ("getColumns",),
    ("getColumn", "DOMAIN"),
    ("getColumn", "COUNT"),
    ("getColumnIndex", "DOMAIN", 1),
    ("getRecords",),
    ("getRecord", 1),
    ("getRecordsCount",),
    ("getCurrentRecord",),
    ("getNextRecord",),
    ("getPreviousRecord",),
    ("getRecordsTotalCount",),
    ("getRecordsLimitation",),
    ("getFirstRecordIndex",),
    ("getLastRecordIndex",),
    ("getCurrentPageNumber",),
    ("getNumberOfPages",),
    ("getNextPageNumber",),
    ("getPreviousPageNumber",),
    ("hasNextPage",),
    ("hasPreviousPage",),
    ("getPagination",),
    ("getListHash",),
]


def _outcome(response: Any, name: str, *args: Any) -> Any:
    """What an accessor gives, as comparable plain data (JSON text keeps key order)."""
    try:
        value = getattr(response, name)(*args)
    except Exception as e:  # the original's own exceptions are data here
        return ("raised", e)
    if isinstance(value, list) and value and hasattr(value[0], "getData"):
        value = [[getattr(v, "getKey", lambda: None)(), v.getData()] for v in value]
    elif hasattr(value, "getData"):
        value = [getattr(value, "getKey", lambda: None)(), value.getData()]
    return json.dumps(value)


RESPONSE_LINE = st.one_of(
    st.builds(
        "{} = {}".format,
        st.sampled_from(["CODE", "DESCRIPTION", "QUEUETIME", "RUNTIME", "code", "PENDING", "X"]),
        st.sampled_from(["0", "1", "10", "-1", "200", "", "abc", "1.5", "ä", "100000"]),
    ),
    st.builds(
        "PROPERTY[{}][{}] = {}".format,
        st.sampled_from(["DOMAIN", "COUNT", "FIRST", "LAST", "LIMIT", "TOTAL", "domain", "A B"]),
        st.integers(0, 3),
        st.sampled_from(["0", "1", "2", "10", "-1", "", "abc", " 3 ", "100000", "ä"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(RESPONSE_LINE, max_size=12), st.booleans(), st.randoms(use_true_random=False))
def test_every_accessor_matches_the_original(lines: list[str], valid: bool, order: Any) -> None:
    """Every accessor, called in a random order on a random response given as str and as
    bytes, gives what the original's gives, except where the original raises (ferrolink
    fixes those: typed errors, an empty CODE that is an error response)."""
    if valid:
        lines = ["CODE = 200", "DESCRIPTION = ok", *lines]
    text = "\r\n".join(["[RESPONSE]", *lines, "EOF", ""])
    calls = list(ACCESSORS)
    order.shuffle(calls)
    for raw in (text, text.encode()):
        theirs, ours = OriginalResponse(text), FerroResponse(raw)
        for call in calls:
            expected = _outcome(theirs, *call)
            if isinstance(expected, tuple):
                continue  # the original raised
            assert _outcome(ours, *call) == expected, (call, text)


# Where the PROPERTY table falls among the top-level keys: first, between, last, absent; one
# record (whose table the Response builds late) or several.
LAYOUTS = [
    "CODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[A][0]=1\r\nQUEUETIME=0\r\nRUNTIME=0.1\r\n",
    "CODE=200\r\nDESCRIPTION=ok\r\nPROPERTY[A][0]=1\r\nPROPERTY[A][1]=2\r\nRUNTIME=0.1\r\n",
    "PROPERTY[A][0]=1\nCODE=200\nDESCRIPTION=ok\nCODE=201",
    "CODE=200\nPROPERTY[A][0]=1\nDESCRIPTION=ok\nPROPERTY[B][0]=2\nCODE=201\nX=1",
    "CODE=200\nDESCRIPTION=ok\nX=1\nPROPERTY[A][0]=1",
    "CODE=200\nDESCRIPTION=ok\nX=1",
]


@pytest.mark.parametrize("raw", LAYOUTS)
@pytest.mark.parametrize("records_first", [False, True])
def test_hash_keys_in_the_original_order(raw: str, records_first: bool) -> None:
    """``getHash()`` iterates (and ``json.dumps`` writes) its keys as the original's do:
    ``PROPERTY`` where the first property line was, from bytes and from a str alike."""
    expected = json.dumps(OriginalResponse(raw).getHash())
    for text in (raw, raw.encode()):
        ours = FerroResponse(text)
        if records_first:
            ours.getRecords()
        assert json.dumps(ours.getHash()) == expected, text


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Z]{1,6}[0-9]?", fullmatch=True), st.text(max_size=10), max_size=5
    )
)
def test_serialize_matches_the_original(properties: dict[str, str]) -> None:
    h: dict[str, Any] = {
        "CODE": "200",
        "DESCRIPTION": "ok",
        "PROPERTY": {k: [v] for k, v in properties.items()},
    }
    assert responseparser.serialize(h) == original_parser.serialize(h)


def identities(r: Any, cmd: Optional[dict[str, str]], list_hash_first: bool) -> list[bool]:
    """Which accessor results are the very same objects, read in one of two orders."""
    lh = r.getListHash() if list_hash_first else None
    keys, columns, records, h = r.getColumnKeys(), r.getColumns(), r.getRecords(), r.getHash()
    lh = lh or r.getListHash()
    facts = [
        lh["meta"]["columns"] is keys,
        r.getColumnKeys() is keys,
        r.getColumns() is columns,
        r.getRecords() is records,
        r.getHash() is h,
        r.getCommand() is cmd,
        r.getCurrentRecord() is (records[0] if records else None),
        all(r.getRecord(i) is rec for i, rec in enumerate(records)),
        all(rec.getData() is rec.getData() for rec in records),
        all(row is rec.getData() for row, rec in zip(lh["LIST"], records)),
        all(r.getColumn(k) is c for k, c in zip(keys, columns)),
        all(r.getColumn(k).getData() is h["PROPERTY"][k] for k in keys),
        all(
            rec.getData()[k] is r.getColumn(k).getData()[i]
            for i, rec in enumerate(records)
            for k in rec.getData()
        ),
    ]
    r.addColumn("NEW", ["z"]).addRecord({"NEW": "z"})
    return [
        *facts,
        r.getColumnKeys() is keys and keys[-1] == "NEW",
        r.getColumns() is columns and columns[-1].getKey() == "NEW",
        r.getRecords() is records and records[-1].getData() == {"NEW": "z"},
    ]


@pytest.mark.parametrize("list_hash_first", [False, True])
@pytest.mark.parametrize("raw", [*RESPONSES, "CODE=200\nDESCRIPTION=ok\nPROPERTY[X][0]=1"])
def test_identity_of_accessor_results_matches_the_original(raw: str, list_hash_first: bool) -> None:
    for ours_raw, with_cmd in ((raw, True), (raw.encode(), False), (raw.encode(), True)):
        ours_cmd, theirs_cmd = ({"COMMAND": "X"}, {"COMMAND": "X"}) if with_cmd else (None, None)
        assert identities(FerroResponse(ours_raw, ours_cmd), ours_cmd, list_hash_first) == (
            identities(OriginalResponse(raw, theirs_cmd), theirs_cmd, list_hash_first)
        )


def test_repeated_column_name_finds_the_first_as_the_original() -> None:
    ours, theirs = FerroResponse(RESPONSES[3]), OriginalResponse(RESPONSES[3])
    for r in (ours, theirs):
        r.addColumn("A", ["other"])
    assert ours.getColumnKeys() == theirs.getColumnKeys() == ["A", "B", "A"]
    assert ours.getColumn("A").getData() == theirs.getColumn("A").getData() == ["1", "2"]


SURROGATEISH = st.text(
    alphabet="PROPERTYprtycodeCODE[]=_ \t\r\n\u00e4\u00df09\udcff\ud800\udfff", max_size=40
)


@settings(max_examples=300, deadline=None)
@given(SURROGATEISH)
def test_lone_surrogates_parse_as_in_the_original(text: str) -> None:
    try:
        expected = original_parser.parse(text)
    except TypeError:
        return  # a top-level PROPERTY key before property lines (see above)
    if isinstance(expected.get("PROPERTY"), str):
        return
    assert responseparser.parse(text) == expected


def test_response_with_a_lone_surrogate() -> None:
    raw = (
        "[RESPONSE]\r\nCODE=200\r\nDESCRIPTION=\udcff\r\nproperty[n\udcffa me][0] = x\ud800\r\nEOF"
    )
    ours, theirs = FerroResponse(raw), OriginalResponse(raw)
    assert ours.getDescription() == theirs.getDescription() == "\udcff"
    assert ours.getHash() == theirs.getHash()
    assert (
        ours.getListHash()
        == theirs.getListHash()
        == {
            "LIST": [{"N\udcffAME": "x\ud800"}],
            "meta": ours.getListHash()["meta"],
        }
    )
